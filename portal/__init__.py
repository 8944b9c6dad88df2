"""The pages people use in the browser: accounts now, the manufacturer portal, the
reviewer workspace and the public registry as they come. Pages are server-rendered and
work without JavaScript; they hold no business rule, calling the same services
(certification/workflow), selectors and policy (certification/core/policy.py) as the API,
and turn the domain errors into form errors. Nothing below imports this package."""
