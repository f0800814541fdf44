#!/usr/bin/env bats
# aula image pull against Debian's docker-registry (distribution 2.8) on loopback: plain HTTP,
# HTTPS with a certificate made here, bearer-token auth (images-registry.py in front), retries,
# image indexes and platforms. Images are pushed with skopeo.

load images-lib

start_registry() { # NAME PORT [TLS-DIR]
        local name=$1 port=$2 tls=${3:-}
        mkdir -p "$REG_DIR/$name"
        {
                echo "version: 0.1"
                echo "log: {level: error}"
                echo "storage: {filesystem: {rootdirectory: $REG_DIR/$name/data}}"
                echo "http:"
                echo "  addr: 127.0.0.1:$port"
                if [ -n "$tls" ]; then
                        echo "  tls: {certificate: $tls/cert.pem, key: $tls/key.pem}"
                fi
        } >"$REG_DIR/$name/config.yml"
        docker-registry serve "$REG_DIR/$name/config.yml" >"$REG_DIR/$name/log" 2>&1 &
        echo $! >"$REG_DIR/$name/pid"
}

# A layout holding "multi": an index over the test image for this machine and a riscv64 twin.
build_index() {
        local layout=$1
        umoci new --image "$layout:rv"
        umoci insert --image "$layout:rv" "$AULA_TEST_TMP/new" /etc/new
        umoci config --image "$layout:rv" --architecture=riscv64 --config.cmd=/bin/sh
        python3 - "$layout" "$(uname -m)" <<'EOF'
import hashlib, json, sys
layout, machine = sys.argv[1], sys.argv[2]
arch = {"x86_64": "amd64", "aarch64": "arm64"}.get(machine, machine)
idx = json.load(open(f"{layout}/index.json"))
by_ref = {m["annotations"]["org.opencontainers.image.ref.name"]: m for m in idx["manifests"]}
def entry(ref, a):
    m = dict(by_ref[ref])
    m.pop("annotations", None)
    m["platform"] = {"os": "linux", "architecture": a}
    return m
inner = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.index.v1+json",
                    "manifests": [entry("rv", "riscv64"), entry("bb", arch)]}).encode()
d = hashlib.sha256(inner).hexdigest()
open(f"{layout}/blobs/sha256/{d}", "wb").write(inner)
idx["manifests"].append({"mediaType": "application/vnd.oci.image.index.v1+json", "digest": "sha256:" + d,
                         "size": len(inner), "annotations": {"org.opencontainers.image.ref.name": "multi"}})
json.dump(idx, open(f"{layout}/index.json", "w"))
EOF
}

setup_file() {
        require_cmd docker-registry skopeo umoci openssl python3 curl jq busybox
        images_setup
        export REG_DIR=$AULA_TEST_TMP/reg FILE_TMP=$AULA_TEST_TMP
        mkdir -p "$REG_DIR/tls"
        LAYOUT=$AULA_TEST_TMP/layout
        build_image "$LAYOUT"
        build_index "$LAYOUT"
        openssl req -x509 -newkey rsa:2048 -nodes -days 1 -subj /CN=127.0.0.1 \
                -addext subjectAltName=IP:127.0.0.1 -keyout "$REG_DIR/tls/key.pem" \
                -out "$REG_DIR/tls/cert.pem" 2>/dev/null

        export PLAIN_PORT TLS_PORT TOKEN_PORT FLAKY_PORT
        PLAIN_PORT=$(free_port)
        TLS_PORT=$(free_port)
        start_registry plain "$PLAIN_PORT"
        start_registry tls "$TLS_PORT" "$REG_DIR/tls"
        wait_http "http://127.0.0.1:$PLAIN_PORT/v2/"
        wait_http "https://127.0.0.1:$TLS_PORT/v2/" --cacert "$REG_DIR/tls/cert.pem"

        for port in "$PLAIN_PORT" "$TLS_PORT"; do
                skopeo copy -q --dest-tls-verify=false "oci:$LAYOUT:bb" "docker://127.0.0.1:$port/lab/bb:1"
        done
        skopeo copy -q --all --dest-tls-verify=false "oci:$LAYOUT:multi" "docker://127.0.0.1:$PLAIN_PORT/lab/multi:1"

        # Token auth (student:secret) and flaky blobs, both relaying to the plain registry.
        TOKEN_PORT=$(free_port)
        FLAKY_PORT=$(free_port)
        mkdir -p "$REG_DIR/token" "$REG_DIR/flaky"
        python3 "$BATS_TEST_DIRNAME/images-registry.py" "$TOKEN_PORT" "http://127.0.0.1:$PLAIN_PORT" \
                "$REG_DIR/token" --user student --password secret >"$REG_DIR/token/log" 2>&1 &
        echo $! >"$REG_DIR/token/pid"
        python3 "$BATS_TEST_DIRNAME/images-registry.py" "$FLAKY_PORT" "http://127.0.0.1:$PLAIN_PORT" \
                "$REG_DIR/flaky" --fail-blobs 1 >"$REG_DIR/flaky/log" 2>&1 &
        echo $! >"$REG_DIR/flaky/pid"
        wait_http "http://127.0.0.1:$TOKEN_PORT/token"
        wait_http "http://127.0.0.1:$FLAKY_PORT/token"
        printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}\n' "$TOKEN_PORT" "$(printf student:secret | base64)" \
                >"$REG_DIR/auth.json"
        printf '{"auths":{"127.0.0.1:%s":{"auth":"%s"}}}\n' "$TOKEN_PORT" "$(printf student:wrong | base64)" \
                >"$REG_DIR/wrong.json"
}

teardown_file() {
        local p
        for p in "$REG_DIR"/*/pid; do
                [ -f "$p" ] && kill "$(cat "$p")" 2>/dev/null
        done
        AULA_TEST_TMP=$FILE_TMP images_teardown
}

setup() {
        AULA_TEST_ROOT=$(mktemp -d /tmp/aula-images-test.XXXXXX)
        export AULA_TEST_ROOT
}

teardown() {
        rm -rf "$AULA_TEST_ROOT"
}

@test "pull over plain HTTP" {
        run aula image pull -q --plain-http "127.0.0.1:$PLAIN_PORT/lab/bb:1" --format json
        [ "$status" -eq 0 ]
        want=$(skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$PLAIN_PORT/lab/bb:1" | sha256sum | cut -d' ' -f1)
        [ "$(echo "$output" | jq -r .digest)" = "sha256:$want" ]
        [ "$(echo "$output" | jq -r '.names[0]')" = "127.0.0.1:$PLAIN_PORT/lab/bb:1" ]
        [ "$(aula image inspect "127.0.0.1:$PLAIN_PORT/lab/bb:1" | jq -r '.layers | length')" = 4 ]
        # Again: everything is in the store already.
        run aula image pull --plain-http "127.0.0.1:$PLAIN_PORT/lab/bb:1"
        [ "$status" -eq 0 ]
        [[ "$output" == *"already in the store"* ]]
}

@test "pull by digest, and a digest that does not match" {
        d=$(skopeo inspect --raw --tls-verify=false "docker://127.0.0.1:$PLAIN_PORT/lab/bb:1" | sha256sum | cut -d' ' -f1)
        run aula image pull -q --plain-http "127.0.0.1:$PLAIN_PORT/lab/bb@sha256:$d"
        [ "$status" -eq 0 ]
        run aula image pull -q --plain-http "127.0.0.1:$PLAIN_PORT/lab/bb@sha256:$(printf '%064d' 0)"
        [ "$status" -eq 1 ]
        [[ "$output" == *"not found"* ]]
        run aula image pull -q --plain-http "127.0.0.1:$PLAIN_PORT/lab/bb:nope"
        [ "$status" -eq 1 ]
        [[ "$output" == *"not found"* ]]
}

@test "pull over HTTPS: with the CA, without it, and without verification" {
        run aula image pull -q --ca-file "$REG_DIR/tls/cert.pem" "127.0.0.1:$TLS_PORT/lab/bb:1"
        [ "$status" -eq 0 ]
        run aula image pull -q "127.0.0.1:$TLS_PORT/lab/bb:1"
        [ "$status" -eq 1 ]
        [[ "$output" == *"certificate"* ]]
        run aula image pull -q --tls-verify=false "127.0.0.1:$TLS_PORT/lab/bb:1"
        [ "$status" -eq 0 ]
        run aula image pull -q "127.0.0.1:$PLAIN_PORT/lab/bb:1"
        [ "$status" -eq 1 ]
        [[ "$output" == *"--plain-http"* ]]
}

@test "bearer tokens: credentials from an auth file" {
        run aula image pull -q --plain-http "127.0.0.1:$TOKEN_PORT/lab/bb:1" --authfile /dev/null/none
        [ "$status" -eq 1 ]
        run aula image pull -q --plain-http "127.0.0.1:$TOKEN_PORT/lab/bb:1" --authfile "$REG_DIR/wrong.json"
        [ "$status" -eq 1 ]
        [[ "$output" == *"refused the credentials"* ]]
        HOME=$AULA_TEST_ROOT run aula image pull -q --plain-http "127.0.0.1:$TOKEN_PORT/lab/bb:1"
        [ "$status" -eq 1 ]
        [[ "$output" == *"refused anonymous access"* ]]
        run aula image pull -q --plain-http "127.0.0.1:$TOKEN_PORT/lab/bb:1" --authfile "$REG_DIR/auth.json"
        [ "$status" -eq 0 ]
        [ "$(jq .token_requests "$REG_DIR/token/stats.json")" -ge 3 ]
        [ "$(jq .relayed "$REG_DIR/token/stats.json")" -ge 6 ]
        # The data root's auth.json is found without --authfile.
        cp "$REG_DIR/auth.json" "$AULA_TEST_ROOT/auth.json"
        aula image rm "127.0.0.1:$TOKEN_PORT/lab/bb:1"
        run aula image pull -q --plain-http "127.0.0.1:$TOKEN_PORT/lab/bb:1"
        [ "$status" -eq 0 ]
}

@test "transient errors are retried" {
        run aula image pull --plain-http "127.0.0.1:$FLAKY_PORT/lab/bb:1"
        [ "$status" -eq 0 ]
        [[ "$output" == *"retrying"* ]]
        [ "$(jq .injected_503 "$REG_DIR/flaky/stats.json")" -ge 4 ]
        aula image rm "127.0.0.1:$FLAKY_PORT/lab/bb:1"
        # Every blob has been served once now, so make a fresh front that fails each one once more.
        port=$(free_port)
        mkdir -p "$REG_DIR/flaky2"
        python3 "$BATS_TEST_DIRNAME/images-registry.py" "$port" "http://127.0.0.1:$PLAIN_PORT" \
                "$REG_DIR/flaky2" --fail-blobs 1 >/dev/null 2>&1 &
        echo $! >"$REG_DIR/flaky2/pid"
        wait_http "http://127.0.0.1:$port/token"
        run aula image pull -q --retries 1 --plain-http "127.0.0.1:$port/lab/bb:1"
        [ "$status" -eq 1 ]
        [[ "$output" == *"HTTP 503 after 1 attempts"* ]]
        [ "$(aula image ls --format json | jq length)" = 0 ]
}

@test "an image index is resolved for the platform" {
        run aula image pull -q --plain-http "127.0.0.1:$PLAIN_PORT/lab/multi:1" --format json
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r .architecture)" != riscv64 ]
        [ "$(echo "$output" | jq -r .layers)" = 4 ]
        run aula image pull -q --plain-http --platform linux/riscv64 --name rv "127.0.0.1:$PLAIN_PORT/lab/multi:1" --format json
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r .architecture)" = riscv64 ]
        run aula image pull -q --plain-http --platform linux/s390x "127.0.0.1:$PLAIN_PORT/lab/multi:1"
        [ "$status" -eq 1 ]
        [[ "$output" == *"no manifest for linux/s390x"* ]]
}
