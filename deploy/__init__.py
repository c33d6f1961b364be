"""Deployment assets: database migrations, service definitions and configuration samples."""
