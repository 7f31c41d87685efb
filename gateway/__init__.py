"""The intake gateway: the Flask app and the domain."""
