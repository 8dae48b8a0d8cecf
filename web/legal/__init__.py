"""Legal documents citizens accept (the user agreement, the personal-data consent) and their acceptance."""
