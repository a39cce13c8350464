"""Triggers besides HTTP and the durable ones: timers, queues, blobs."""
