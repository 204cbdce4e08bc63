"""Report folders in object storage (``s3://bucket/prefix/<gameday>``): the bucket, the local working copy, the live upload."""
