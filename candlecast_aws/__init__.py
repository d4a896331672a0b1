"""AWS: the daily Lambda job, its deployment (Lambda, EventBridge, SQS), schedule, image pruning."""
