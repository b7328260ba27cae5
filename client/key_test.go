package client_test

import (
	"encoding/base64"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/tally-ledger/tally/client"
	"github.com/tally-ledger/tally/schemas"
)

func TestKeyFileRoundTrip(t *testing.T) {
	path := filepath.Join(t.TempDir(), "keys", "producer.key")
	k, err := client.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	if err := client.SaveKey(path, k); err != nil {
		t.Fatal(err)
	}
	fi, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if mode := fi.Mode().Perm(); mode != 0o600 {
		t.Errorf("key file mode %o, want 600", mode)
	}
	got, err := client.LoadKey(path)
	if err != nil {
		t.Fatal(err)
	}
	if got.ID != k.ID || !got.Public.Equal(k.Public) || !got.Private.Equal(k.Private) {
		t.Errorf("loaded key differs from the saved one")
	}
	if got.ID != schemas.KeyID(k.Public) {
		t.Errorf("key id %s, want schemas.KeyID %s", got.ID, schemas.KeyID(k.Public))
	}
	var kf map[string]string
	b, _ := os.ReadFile(path)
	if err := json.Unmarshal(b, &kf); err != nil {
		t.Fatal(err)
	}
	for _, field := range []string{"key_id", "public_key", "private_key"} {
		if kf[field] == "" {
			t.Errorf("key file lacks %s", field)
		}
	}
	if err := client.SaveKey(path, k); err == nil {
		t.Errorf("SaveKey replaced an existing key file")
	}
}

func TestLoadKeyRejectsBadFiles(t *testing.T) {
	k, err := client.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	other, _ := client.GenerateKey()
	good := map[string]string{"key_id": k.ID, "public_key": k.PublicKeyString(), "private_key": "PLACEHOLDER"}
	dir := t.TempDir()
	good["private_key"] = encodeSeed(k)
	cases := []struct {
		name string
		edit func(m map[string]string)
	}{
		{"wrong key id", func(m map[string]string) { m["key_id"] = other.ID }},
		{"wrong public key", func(m map[string]string) { m["public_key"] = other.PublicKeyString() }},
		{"private key not base64", func(m map[string]string) { m["private_key"] = "***" }},
		{"private key of 31 bytes", func(m map[string]string) { m["private_key"] = "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==" }},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			m := map[string]string{}
			for k, v := range good {
				m[k] = v
			}
			c.edit(m)
			b, _ := json.Marshal(m)
			path := filepath.Join(dir, c.name)
			if err := os.WriteFile(path, b, 0o600); err != nil {
				t.Fatal(err)
			}
			if _, err := client.LoadKey(path); !errors.Is(err, client.ErrInvalid) {
				t.Errorf("LoadKey: got %v, want ErrInvalid", err)
			}
		})
	}
	t.Run("untouched", func(t *testing.T) {
		b, _ := json.Marshal(good)
		path := filepath.Join(dir, "good")
		if err := os.WriteFile(path, b, 0o600); err != nil {
			t.Fatal(err)
		}
		if _, err := client.LoadKey(path); err != nil {
			t.Errorf("LoadKey: %v", err)
		}
	})
}

func TestSignVerifies(t *testing.T) {
	k, err := client.GenerateKey()
	if err != nil {
		t.Fatal(err)
	}
	payload := []byte(`{"name":"Coop","id":"coop-1"}`)
	env, err := client.Sign(schemas.KindPartyRegistered, payload, k)
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Verify(k.Public); err != nil {
		t.Errorf("signature does not verify: %v", err)
	}
	body, _ := env.Body()
	if string(body) != `{"id":"coop-1","name":"Coop"}` {
		t.Errorf("payload %s is not the canonical form", body)
	}
	if env.PayloadType != "application/vnd.tally.party.registered.v1+json" {
		t.Errorf("payload type %s", env.PayloadType)
	}
	if _, err := client.Sign("no.such.kind", payload, k); !errors.Is(err, client.ErrInvalid) {
		t.Errorf("unknown kind: got %v, want ErrInvalid", err)
	}
}

func encodeSeed(k *client.Key) string {
	return base64.StdEncoding.EncodeToString(k.Private.Seed())
}
