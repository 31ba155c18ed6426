"""python -m qlvb_identity: run one process of the identity service."""

from qlvb_chassis.service import serve
from qlvb_identity.app import create_app
from qlvb_identity.settings import Settings

settings = Settings()
serve(create_app(settings), settings)
