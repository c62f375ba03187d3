"""Investigation helpers built on the views: facts a narrative can cite."""
