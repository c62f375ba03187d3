"""Renderers: static (matplotlib) and interactive views of perfkit layouts."""
