"""Serving over HTTP: the GraphQL view and what wraps every request on its
way in and out (body limit, request ids, access lines, JSON errors, static
files). Apart from api.graphql, so that what a request is and how it is
answered can change without touching how an operation runs."""
