"""Services: one module per job (query -> compute -> result, cached), below the views.

The page, the JSON API and the command line call the same service, so they give the same
answer.  Services take a database session and plain values, never a request: parsing the
request and checking the user's area stay in the views.
"""
