"""The typed, frozen domain model. No I/O; imports nothing else of gamedays."""
