"""python -m qlvb_issuance: run one process of the issuance service."""

from qlvb_chassis.service import serve
from qlvb_issuance.app import create_app
from qlvb_issuance.settings import Settings

settings = Settings()
serve(create_app(settings), settings)
