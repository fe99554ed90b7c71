"""The surrogate's model server, in small rooms: settings, guards, connection, protocol, chemistry, app.

``reference_workloads.drug_discovery.serve`` wires them to kserve's ModelServer and is the
entry point; see its docstring for the security and resource settings.
"""
