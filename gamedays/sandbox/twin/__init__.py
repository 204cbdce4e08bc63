"""The sandbox as an AWS twin: what is done through moto's AWS API happens to the sandbox's real parts.

A reconciler (:mod:`gamedays.sandbox.twin.process`, a child process of the sandbox) reads
moto's state through its public API, as a controller would, and makes the local parts follow:

- Aurora (:mod:`~gamedays.sandbox.twin.aurora`): the cluster ``shop-db``'s instances are the
  local PostgreSQL servers; when ``failover_db_cluster`` changes the writer, the writer's
  server is promoted (a clean switchover), the ``db`` SRV record the shop and
  ``DATABASE_URL`` follow moves to it, and the old writer rejoins as its standby; failing
  over back leaves the sandbox as it began. ``reboot_db_instance`` restarts that server.
- Route53 (:mod:`~gamedays.sandbox.twin.route53`): the hosted zone's record sets are the
  sandbox DNS zone's: a ``change_resource_record_sets`` changes what the sandbox DNS answers.

moto keeps no trace of a reboot in its state, so the endpoint also writes a trail of the
calls it accepted (:mod:`~gamedays.sandbox.twin.trail`, like CloudTrail), which the twin reads.
Nothing here is imported by the orchestrator at start-up: boto3 is loaded in the child only.
"""
