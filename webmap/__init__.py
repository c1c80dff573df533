"""Flask app, blueprints per user group, JSON API and the qungong CLI."""
