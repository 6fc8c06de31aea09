"""A stand-in for asyncio.sleep that records the delays instead of waiting."""


class Sleeps:
    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)
