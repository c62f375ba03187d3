"""The original server's defect classes, the tests that catch them, and how ours fixes them."""
from __future__ import annotations

import pandas as pd

# (defect class from wordgame-api.md, black-box test, Go tests guarding the fix, the fix)
DEFECTS: list[tuple[str, str, str, str]] = [
    ("1. data race on the game store: `concurrent map writes` kills the process",
     "test_concurrent_games_stay_consistent", "TestConcurrentFullGames, TestConcurrentGuessesOnOneGame (-race)",
     "store behind a mutex; a guess is one atomic read-modify-write"),
    ("2. handler keeps going after an error: no response at all (EOF) for bad JSON or an empty guess",
     "test_exactly_one_response_per_bad_request", "TestStatusCodes, TestPanicGivesOneJSON500, FuzzGuessHandler",
     "every error path returns after writing; a recover middleware answers one JSON 500"),
    ("2. a rejected multi-letter guess is still applied",
     "test_rejected_guess_changes_nothing", "TestRejectedRequestChangesNothing",
     "validate the whole request before touching the game"),
    ("2/3. unknown or finished game: 500 `load game: not found` + `null`",
     "test_missing_game_is_404", "TestStatusCodes, TestGuessRemovesFinishedGames", "404 with a JSON error"),
    ("3. error bodies are plain text", "test_error_bodies_are_json", "TestStatusCodes", "`{\"error\": ...}` bodies"),
    ("3. no 405 for unsupported methods", "test_unsupported_methods_are_405", "TestStatusCodes",
     "405 with an `Allow` header"),
    ("4. no request body limit", "test_request_body_is_limited", "TestTooLargeChunkedBody",
     "`http.MaxBytesReader`, 413 above the limit"),
    ("4. no server timeouts: slow clients hold connections", "test_slow_clients_are_timed_out",
     "TestConfigEnvFallbackAndFlagPrecedence", "read-header, read, write and idle timeouts (flags)"),
    ("4. abandoned games stay in memory forever", "test_idle_games_are_evicted",
     "TestEvictionWithFakeClock, TestEvictionThroughServer", "idle-game TTL, `wordgame_games_evicted_total`"),
    ("5. no observability", "test_health_and_metrics", "TestMetricsAfterScriptedSequence, TestHealthAndReady, "
     "TestRequestLogAndSecretWord, TestBinarySIGTERM",
     "Prometheus metrics, /healthz, /readyz, pprof on the admin port, JSON logs, graceful shutdown"),
    ("bad input in general: 5xx or off-spec answers", "test_schemathesis_no_5xx_and_conforms", "FuzzGuessHandler",
     "OpenAPI spec in wordgame_lab/openapi.yaml; schemathesis and Go fuzzing find no 5xx"),
]


def defect_table(findings_defective: pd.DataFrame, findings_ours: pd.DataFrame | None = None) -> pd.DataFrame:
    """One row per defect: the finding against a defective server, and the outcome against ours."""
    fd = findings_defective.set_index("test") if len(findings_defective) else pd.DataFrame()
    fo = findings_ours.set_index("test") if findings_ours is not None and len(findings_ours) else None
    rows = []
    for defect, test, go_tests, fix in DEFECTS:
        found = fd.loc[test] if test in fd.index else None
        rows.append({
            "defect": defect,
            "how it was found (defective server)": (f"{found['outcome']}: {found['finding']}" if found is not None
                                                    else "not run"),
            "black-box test": test,
            "Go tests": go_tests,
            "fix": fix,
            "our server": (fo.loc[test, "outcome"] if fo is not None and test in fo.index else ""),
        })
    return pd.DataFrame(rows)
