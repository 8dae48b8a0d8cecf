"""The process entry points: the `backoffice` command, the supervisor of `backoffice run`, the HTTP server and the
registry stand-in. They sit above every layer (web, tasks, engine) and nothing imports them back."""
