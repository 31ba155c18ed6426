"""python -m qlvb_intake: run one process of the intake service."""

from qlvb_chassis.service import serve
from qlvb_intake.app import create_app
from qlvb_intake.settings import Settings

settings = Settings()
serve(create_app(settings), settings)
