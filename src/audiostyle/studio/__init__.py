"""audiostyle studio: a local web app to drop two sounds, watch the transfer and listen.

``audiostyle studio`` serves a small hand-written page (``static/``) and a JSON + server-sent
events API (:mod:`.app`, on Starlette) from this machine; jobs run one at a time in a worker
process (:mod:`.runner`, :mod:`.worker`) and results are kept in a data folder (:mod:`.store`).
Access rules are in :mod:`.security`. Needs the ``studio`` extra (``pip install
'audiostyle[studio]'``).
"""
