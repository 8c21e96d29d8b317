"""EC2 GPU runner fleets: launch, list, tear down and reap (boto3)."""
