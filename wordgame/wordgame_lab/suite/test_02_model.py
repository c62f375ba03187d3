"""Model-based testing: a hypothesis state machine plays games against the reference rules.

With a known word (our own server, one-word dictionary) every state is checked
exactly; with an unknown server only the invariants hold: constant length,
guesses_remaining never increases, revealed letters never change, and a game
ends exactly when the rules say (a finished game is gone).
"""
from __future__ import annotations

import pytest
from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import Bundle, RuleBasedStateMachine, consumes, invariant, rule

from wordgame_lab.model import GameModel, check_transition, is_finished

pytestmark = pytest.mark.contract

LETTERS = st.sampled_from("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz")


def make_machine(target):
    class WordgameMachine(RuleBasedStateMachine):
        games = Bundle("games")

        def __init__(self):
            super().__init__()
            self.client = target.client()
            self.states: dict[str, dict] = {}
            self.models: dict[str, GameModel] = {}
            self.finished: list[str] = []

        def teardown(self):
            self.client.close()

        @rule(target=games)
        def new_game(self):
            r = self.client.new()
            assert r.status == 200, r.status
            g = r.json
            assert g["guesses_remaining"] == 6 and set(g["current"]) == {"_"}
            self.states[g["id"]] = g
            if target.word:
                assert g["current"] == "_" * len(target.word)
                self.models[g["id"]] = GameModel(target.word)
            return g["id"]

        @rule(gid=games, letter=LETTERS)
        def guess(self, gid, letter):
            if gid not in self.states:          # finished earlier: must be gone
                r = self.client.guess(gid, letter)
                assert not r.ok, f"finished game {gid} answered {r.status}"
                return
            before = self.states[gid]
            r = self.client.guess(gid, letter)
            assert r.status == 200, f"guess {letter!r} on a live game -> {r.status} {r.body[:100]!r}"
            after = r.json
            assert after.get("id") == gid
            errs = check_transition(before, after, letter)
            assert not errs, errs
            if gid in self.models:
                m = self.models[gid].guess(letter)
                assert after["current"] == m.current and after["guesses_remaining"] == m.guesses_remaining, \
                    (after, m.state())
            self.states[gid] = after
            if is_finished(after):
                del self.states[gid]
                self.models.pop(gid, None)
                self.finished.append(gid)

        @rule(gid=consumes(games))
        def abandon(self, gid):
            self.states.pop(gid, None)
            self.models.pop(gid, None)

        @invariant()
        def live_games_are_sane(self):
            for g in self.states.values():
                assert 0 < g["guesses_remaining"] <= 6 and "_" in g["current"]

    return WordgameMachine


def test_games_follow_the_rules(target):
    machine = make_machine(target)
    machine.TestCase.settings = settings(max_examples=target.examples, stateful_step_count=40, deadline=None,
                                         database=None, derandomize=False,
                                         suppress_health_check=list(HealthCheck))
    machine.TestCase().runTest()
