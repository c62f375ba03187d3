"""Locust user modelled on real players: new game, then letters by frequency until win or loss.

Tunables (environment, so distributed workers inherit them):
  WORDGAME_THINK_MIN / WORDGAME_THINK_MAX  think time in seconds between requests (default 0 / 0)
  WORDGAME_ABANDON   share of games abandoned after a random number of guesses (default 0.1)
  WORDGAME_INVALID   share of guesses sent as invalid requests (two letters; default 0.02)
  WORDGAME_NEW_ONLY  1: only POST /new (a generator-ceiling benchmark against one endpoint)
  WORDGAME_USER_RPS  > 0: each user runs its task at most this often (constant_throughput: a target rate
                     spread over the users; distributed runs sized by measurement)

The user is a ``FastHttpUser`` (geventhttpclient, several times cheaper per request than ``HttpUser``'s
requests session); ``catch_response``, ``json=`` and ``response.json()`` work the same on it.
"""
from __future__ import annotations

import os
import random

import gevent
from locust import FastHttpUser, between, constant_throughput, events, task

from wordgame_lab.model import FREQUENCY, LETTER_WEIGHTS

THINK = (float(os.environ.get("WORDGAME_THINK_MIN", 0)), float(os.environ.get("WORDGAME_THINK_MAX", 0)))
ABANDON = float(os.environ.get("WORDGAME_ABANDON", 0.1))
INVALID = float(os.environ.get("WORDGAME_INVALID", 0.02))
NEW_ONLY = os.environ.get("WORDGAME_NEW_ONLY", "0") == "1"
USER_RPS = float(os.environ.get("WORDGAME_USER_RPS", 0))


@events.init.add_listener
def _fresh_clock(**_kw):
    # gevent's loop caches its clock; after Locust's slow imports the -t timer would be armed from a stale
    # "now" and the run cut short by the start-up time (a 2 s run on a busy machine: no request at all)
    gevent.get_hub().loop.update_now()


class Player(FastHttpUser):
    wait_time = constant_throughput(USER_RPS) if USER_RPS > 0 else between(*THINK)

    @task
    def play(self):
        with self.client.post("/new", name="/new", catch_response=True) as r:
            if r.status_code != 200:
                r.failure(f"/new {r.status_code}")
                return
            st = r.json()
        if NEW_ONLY:
            return
        letters = list(FREQUENCY)
        # frequency-weighted order without replacement
        order = sorted(letters, key=lambda c: -random.random() ** (1.0 / LETTER_WEIGHTS[c]))
        quit_after = random.randint(1, 6) if random.random() < ABANDON else None
        for n, L in enumerate(order):
            if quit_after is not None and n >= quit_after:
                return                                   # abandoned: stays until the TTL evicts it
            if random.random() < INVALID:
                with self.client.post("/guess", json={"id": st["id"], "guess": L + L}, name="/guess [invalid]",
                                      catch_response=True) as r:
                    if r.status_code == 400:
                        r.success()
                    else:
                        r.failure(f"invalid guess answered {r.status_code}")
            with self.client.post("/guess", json={"id": st["id"], "guess": L}, name="/guess",
                                  catch_response=True) as r:
                if r.status_code != 200:
                    r.failure(f"/guess {r.status_code}")
                    return
                st = r.json()
            if "_" not in st["current"] or st["guesses_remaining"] == 0:
                return
