package server

import (
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"strconv"
	"time"

	"perfkit.local/wordgame/internal/game"
	"perfkit.local/wordgame/internal/store"
)

// CORS headers, exactly as the original sends them.
const (
	corsAllowMethods = "POST, GET, OPTIONS, PUT, DELETE"
	corsAllowHeaders = "Accept, Content-Type, Content-Length, Accept-Encoding, X-CSRF-Token, Authorization"
)

var allowed = map[string]string{
	"/new":   "GET, POST, OPTIONS",
	"/guess": "POST, OPTIONS",
}

// route dispatches the public API: path, then method.
func (s *Server) route(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Access-Control-Allow-Origin", "*")
	allow, ok := allowed[r.URL.Path]
	if !ok {
		writeError(w, http.StatusNotFound, "not found")
		return
	}
	switch {
	case r.Method == http.MethodOptions:
		h := w.Header()
		h.Set("Access-Control-Allow-Methods", corsAllowMethods)
		h.Set("Access-Control-Allow-Headers", corsAllowHeaders)
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusOK)
	case r.URL.Path == "/new" && (r.Method == http.MethodGet || r.Method == http.MethodPost):
		s.handleNew(w, r)
	case r.URL.Path == "/guess" && r.Method == http.MethodPost:
		s.handleGuess(w, r)
	default:
		w.Header().Set("Allow", allow)
		writeError(w, http.StatusMethodNotAllowed, "method "+r.Method+" not allowed; allowed: "+allow)
	}
}

func (s *Server) handleNew(w http.ResponseWriter, r *http.Request) {
	// The body is ignored, but it is still bounded.
	if _, err := s.readBody(w, r); err != nil {
		writeBodyError(w, err)
		return
	}
	word := s.cfg.PickWord(s.cfg.Words)
	st, err := s.cfg.Store.Create(word)
	var full *store.FullError
	if errors.As(err, &full) {
		s.m.GameRejected()
		w.Header().Set("Retry-After", strconv.Itoa(int((full.RetryAfter+time.Second-1)/time.Second)))
		writeError(w, http.StatusServiceUnavailable, "too many live games; retry later")
		return
	}
	if err != nil { // only an invalid word, which the dictionary loader rules out
		writeError(w, http.StatusInternalServerError, "cannot start game")
		return
	}
	s.m.GameStarted()
	if s.log.Enabled(r.Context(), slog.LevelDebug) {
		s.log.Debug("game started", "request_id", requestID(r.Context()), "game_id", st.ID, "word", word)
	}
	writeJSON(w, http.StatusOK, st)
}

// Messages of 400s on /guess: what is wrong with the request, never
// encoding/json's own text (Go type names).
const (
	msgNotObject = `body must be a JSON object with string fields "id" and "guess"`
	msgIDType    = `"id" must be a string (the id from /new)`
	msgGuessType = `"guess" must be a string of one letter A-Z`
)

// guessRequest keeps the raw values so that a wrong type gets our message.
// Field names match case-insensitively, as encoding/json does.
type guessRequest struct {
	ID    json.RawMessage `json:"id"`
	Guess json.RawMessage `json:"guess"`
}

func (s *Server) handleGuess(w http.ResponseWriter, r *http.Request) {
	body, err := s.readBody(w, r)
	if err != nil {
		s.m.GuessRejected()
		writeBodyError(w, err)
		return
	}
	id, guess, msg := parseGuessRequest(body)
	if msg != "" {
		s.m.GuessRejected()
		writeError(w, http.StatusBadRequest, msg)
		return
	}
	if id == nil || *id == "" {
		s.m.GuessRejected()
		writeError(w, http.StatusBadRequest, `missing "id"`)
		return
	}
	if guess == nil {
		s.m.GuessRejected()
		writeError(w, http.StatusBadRequest, `missing "guess"`)
		return
	}
	letter, err := game.ParseGuess(*guess)
	if err != nil {
		s.m.GuessRejected()
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	res, err := s.cfg.Store.Guess(*id, letter)
	if errors.Is(err, store.ErrNotFound) {
		s.m.GuessRejected()
		writeError(w, http.StatusNotFound, "game not found (unknown, finished or expired)")
		return
	} else if err != nil {
		writeError(w, http.StatusInternalServerError, "internal error")
		return
	}
	s.m.Guess(res.Hit)
	if res.Status != game.InProgress {
		s.m.GameFinished(res.Status == game.Won)
		if s.log.Enabled(r.Context(), slog.LevelDebug) {
			s.log.Debug("game finished", "request_id", requestID(r.Context()), "game_id", res.State.ID,
				"result", res.Status.String(), "word", res.Word)
		}
	}
	writeJSON(w, http.StatusOK, res.State)
}

var (
	errTooLarge    = errors.New("request body too large")
	errBodyTimeout = errors.New("request body not received in time")
)

// readBody reads the whole body, at most MaxBodyBytes.
func (s *Server) readBody(w http.ResponseWriter, r *http.Request) ([]byte, error) {
	limit := s.cfg.MaxBodyBytes
	if r.ContentLength > limit {
		return nil, errTooLarge
	}
	b, err := io.ReadAll(http.MaxBytesReader(w, r.Body, limit))
	var mbe *http.MaxBytesError
	var ne net.Error
	switch {
	case errors.As(err, &mbe):
		return nil, errTooLarge
	case errors.Is(err, os.ErrDeadlineExceeded) || errors.As(err, &ne) && ne.Timeout():
		return nil, errBodyTimeout
	}
	return b, err
}

func writeBodyError(w http.ResponseWriter, err error) {
	if errors.Is(err, errTooLarge) {
		writeError(w, http.StatusRequestEntityTooLarge, "request body too large")
		return
	}
	if errors.Is(err, errBodyTimeout) {
		writeError(w, http.StatusRequestTimeout, "request body not received within the read timeout")
		return
	}
	writeError(w, http.StatusBadRequest, "cannot read the request body")
}

// parseGuessRequest accepts exactly one JSON object (unknown fields are
// ignored, as in the original; trailing data is not). A field absent or null
// is nil. msg is the client-facing reason when the body is unusable.
func parseGuessRequest(b []byte) (id, guess *string, msg string) {
	t := bytes.TrimLeft(b, " \t\r\n")
	if len(t) == 0 || t[0] != '{' {
		return nil, nil, msgNotObject
	}
	var req guessRequest
	if err := json.Unmarshal(b, &req); err != nil {
		var se *json.SyntaxError
		if errors.As(err, &se) {
			return nil, nil, msgNotObject + " (invalid JSON at byte " + strconv.FormatInt(se.Offset, 10) + ")"
		}
		return nil, nil, msgNotObject
	}
	str := func(raw json.RawMessage) (*string, bool) {
		if raw == nil || string(raw) == "null" {
			return nil, true
		}
		var v string
		if json.Unmarshal(raw, &v) != nil {
			return nil, false
		}
		return &v, true
	}
	id, ok := str(req.ID)
	if !ok {
		return nil, nil, msgIDType
	}
	guess, ok = str(req.Guess)
	if !ok {
		return nil, nil, msgGuessType
	}
	return id, guess, ""
}

func writeJSON(w http.ResponseWriter, code int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		code, b = http.StatusInternalServerError, []byte(`{"error":"internal error"}`)
	}
	b = append(b, '\n')
	h := w.Header()
	h.Set("Content-Type", "application/json")
	h.Set("Content-Length", strconv.Itoa(len(b)))
	w.WriteHeader(code)
	w.Write(b)
}

func writeError(w http.ResponseWriter, code int, msg string) {
	writeJSON(w, code, map[string]string{"error": msg})
}

func itoa(n int) string { return strconv.Itoa(n) }
