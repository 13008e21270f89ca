"""Token buckets of cost points per client, shared by every process through
the database or Redis: what the GraphQL cost analysis (api.graphql.admission)
and the login limits (accounts.login_limits) spend from."""
