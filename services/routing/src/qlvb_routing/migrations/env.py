from qlvb_chassis.migrations import run_env
from qlvb_routing.adapters.orm import metadata

run_env(metadata)
