"""HTTP routers, one module per resource."""

# Every resource of the versioned API lives under this prefix; the platform routes (health,
# metrics, error pages, docs) do not.
API_PREFIX = "/api/v1"
