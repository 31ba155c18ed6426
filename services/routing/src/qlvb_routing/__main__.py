"""python -m qlvb_routing: run one process of the routing service."""

from qlvb_chassis.service import serve
from qlvb_routing.app import create_app
from qlvb_routing.settings import Settings

settings = Settings()
serve(create_app(settings), settings)
