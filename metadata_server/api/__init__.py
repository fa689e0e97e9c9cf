"""HTTP routes: one blueprint per resource. Each route parses, authorises, calls the service."""
