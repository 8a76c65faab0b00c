"""Who is calling the console and what they may do: `identity` (Flask-Login sessions, bearer tokens, the caller,
the audit helper), `guards` (the role checks of pages and API endpoints), `throttle` (failed sign-ins counted in
Redis), `pages` (login, logout, account, tokens, presence) and `api` (the accounts endpoints of /api/v1)."""
