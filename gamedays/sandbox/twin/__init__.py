"""The sandbox as an AWS twin: what is done through moto's AWS API happens to the sandbox's real parts.

It runs in the moto child itself, driven by what the endpoint accepts, and costs nothing idle:

- :mod:`~gamedays.sandbox.twin.trail`: a WSGI middleware in front of moto writes a trail of the
  accepted calls that change something (like CloudTrail) and hands each to the worker;
- :mod:`~gamedays.sandbox.twin.worker`: one thread, blocked on a queue until a change comes, then
  reconciles moto's state (read through its public API, as a controller would) into the parts;
- :mod:`~gamedays.sandbox.twin.aurora`: the cluster ``shop-db``'s instances are the local
  PostgreSQL servers: ``failover_db_cluster`` is a clean switchover that moves the ``db`` SRV
  record the shop and ``DATABASE_URL`` follow, ``reboot_db_instance`` restarts that server;
- :mod:`~gamedays.sandbox.twin.route53`: the hosted zone's record sets are the sandbox DNS zone's:
  ``change_resource_record_sets`` changes what the sandbox DNS answers;
- :mod:`~gamedays.sandbox.twin.nodes`: EC2 instances are the sandbox's Kubernetes nodes:
  ``stop_instances`` takes the node out (cordoned, its pods gone and started elsewhere),
  ``start_instances`` brings it back;
- :mod:`~gamedays.sandbox.twin.identity`: each server answers ``aurora_db_instance_identifier()``;
- :mod:`~gamedays.sandbox.twin.endpoint`: how the sandbox attaches the twin to its parts once they
  run (:class:`~gamedays.sandbox.twin.spec.TwinSpec`), and detaches it before stopping them.

Nothing heavy is imported by the orchestrator: boto3 and psycopg are loaded in the child only.
"""
