"""The demo tenant: Brightleaf Home, a fictional online store (bot file and help center)."""

from pathlib import Path

DEMO_DIR = Path(__file__).resolve().parent
DEMO_KB_DIR = DEMO_DIR / "kb"
DEMO_TENANTS_DIR = DEMO_DIR / "tenants"
