"""The simulated consulting firm: the people who act on the mock systems.

Sales people open accounts and sign contracts, staffers assign consultants,
consultants submit weekly timesheets, approvers approve or reject them,
finance runs billing at month end, and customers pay on terms. They call
the mock backends directly: only the connector pays for HTTP.
"""
