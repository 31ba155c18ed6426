"""python -m qlvb_reporting: run one process of the reporting service."""

from qlvb_chassis.service import serve
from qlvb_reporting.app import create_app
from qlvb_reporting.settings import Settings

settings = Settings()
serve(create_app(settings), settings)
