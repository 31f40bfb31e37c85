class ChatRefused(Exception):
    """A request that was refused and changed nothing; code and message go to the user."""

    def __init__(self, code: str, message):
        super().__init__(code)
        self.code = code
        self.message = message  # lazy: rendered in the user's language by the caller
