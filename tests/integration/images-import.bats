#!/usr/bin/env bats
# aula image import/ls/inspect/rm/gc from real OCI layouts (umoci), OCI and docker archives (skopeo).

load images-lib

setup() {
        images_setup
        require_cmd umoci skopeo jq busybox python3
        LAYOUT=$AULA_TEST_TMP/layout
        build_image "$LAYOUT"
}

teardown() {
        images_teardown
}

# The store's files, for "nothing changed" checks (lock files excepted).
store_listing() {
        (cd "$AULA_TEST_ROOT" && find . -not -name '*lock' | sort)
}

@test "import an OCI layout, then list and inspect it" {
        run aula image import -q "$LAYOUT:bb" --name lab/base:1 --format json
        [ "$status" -eq 0 ]
        digest=$(echo "$output" | jq -r .digest)
        [[ "$digest" == sha256:* ]]
        [ "$(echo "$output" | jq -r '.names[0]')" = "lab/base:1" ]
        [ "$(echo "$output" | jq -r .layers)" = 4 ]

        run aula image ls --format json
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq length)" = 1 ]
        [ "$(echo "$output" | jq -r '.[0].digest')" = "$digest" ]

        run aula image ls
        [ "$status" -eq 0 ]
        [[ "$output" == *"lab/base"*"1"*"${digest:7:12}"* ]]

        run aula image inspect lab/base:1
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r '.layers | length')" = 4 ]
        [ "$(echo "$output" | jq -r '.layers[0].chainId')" = "$(echo "$output" | jq -r '.layers[0].diffId')" ]
        [[ "$(echo "$output" | jq -r .source)" == oci:* ]]

        run aula image inspect --config "${digest:7:8}"
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r .config.User)" = student ]
}

@test "OCI archive and docker archive of one image share their layers" {
        skopeo copy -q "oci:$LAYOUT:bb" "oci-archive:$AULA_TEST_TMP/bb-oci.tar:bb"
        skopeo copy -q "oci:$LAYOUT:bb" "docker-archive:$AULA_TEST_TMP/bb-docker.tar:lab/bb:2"

        run aula image import "$AULA_TEST_TMP/bb-oci.tar" --format json -q
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r '.names[0]')" = "bb-oci:bb" ]
        run aula image import "$AULA_TEST_TMP/bb-docker.tar" --format json -q
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r '.names[0]')" = "docker.io/lab/bb:2" ]

        oci_diffs=$(aula image inspect bb-oci:bb | jq -r '[.layers[].diffId] | join(" ")')
        docker_diffs=$(aula image inspect docker.io/lab/bb:2 | jq -r '[.layers[].diffId] | join(" ")')
        [ "$oci_diffs" = "$docker_diffs" ]
        # One squashfs per chain, whichever way the image came: 4 layers, not 8.
        [ "$(find "$AULA_TEST_ROOT/images/layers" -name '*.sqfs' | wc -l)" = 4 ]
}

@test "a gzip-compressed docker archive imports" {
        skopeo copy -q "oci:$LAYOUT:bb" "docker-archive:$AULA_TEST_TMP/bb.tar:bb:latest"
        gzip -c "$AULA_TEST_TMP/bb.tar" >"$AULA_TEST_TMP/bb.tar.gz"
        run aula image import -q "$AULA_TEST_TMP/bb.tar.gz"
        [ "$status" -eq 0 ]
        run aula image inspect bb
        [ "$status" -eq 0 ]
}

@test "rm deletes the last name and reclaims space; gc reports" {
        aula image import -q "$LAYOUT:bb" --name one
        aula image tag one two
        run aula image rm one --format json
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq -r '.[0].ref')" = one ]
        [ -n "$(find "$AULA_TEST_ROOT/images/layers" -name '*.sqfs')" ]
        run aula image rm two
        [ "$status" -eq 0 ]
        [ -z "$(find "$AULA_TEST_ROOT/images/layers" -name '*.sqfs')" ]
        [ -z "$(find "$AULA_TEST_ROOT/images/blobs" -type f)" ]
        run aula image gc --format json
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq .blobsRemoved)" = 0 ]
        run aula image rm nothere
        [ "$status" -eq 1 ]
        [[ "$output" == *"no image 'nothere'"* ]]
}

@test "a corrupt layer blob is refused and the store stays as it was" {
        aula image ls >/dev/null
        before=$(store_listing)
        blob=$(jq -r '.manifests[0].digest' "$LAYOUT/index.json")
        layer=$(jq -r '.layers[3].digest' "$LAYOUT/blobs/sha256/${blob#sha256:}")
        cp -r "$LAYOUT" "$AULA_TEST_TMP/bad"
        f="$AULA_TEST_TMP/bad/blobs/sha256/${layer#sha256:}"
        printf 'X' | dd of="$f" bs=1 seek=20 conv=notrunc 2>/dev/null
        run aula image import "$AULA_TEST_TMP/bad:bb" --name bad
        [ "$status" -eq 1 ]
        [[ "$output" == *"layer 4"* ]]
        [ "$(store_listing)" = "$before" ]
}

@test "a truncated archive is refused with a clear error" {
        skopeo copy -q "oci:$LAYOUT:bb" "docker-archive:$AULA_TEST_TMP/bb.tar:bb:latest"
        head -c 700000 "$AULA_TEST_TMP/bb.tar" >"$AULA_TEST_TMP/cut.tar"
        run aula image import "$AULA_TEST_TMP/cut.tar"
        [ "$status" -eq 1 ]
        [[ "$output" == *"aula: import failed: "* ]]
        [ "$(aula image ls --format json | jq length)" = 0 ]
}

# A layout whose single layer is a tar built by python (so that it can hold what tar tools refuse to make).
hostile_layout() {
        local dir=$1 kind=$2
        python3 - "$dir" "$kind" <<'EOF'
import hashlib, io, json, os, sys, tarfile
out, kind = sys.argv[1], sys.argv[2]
buf = io.BytesIO()
with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as t:
    def add(name, data=b"x", **kw):
        i = tarfile.TarInfo(name)
        for k, v in kw.items():
            setattr(i, k, v)
        i.size = len(data) if i.type == tarfile.REGTYPE else 0
        t.addfile(i, io.BytesIO(data) if i.type == tarfile.REGTYPE else None)
    if kind == "dotdot":
        add("../../etc/cron.d/evil")
    elif kind == "symlink":
        add("escape", type=tarfile.SYMTYPE, linkname="/etc")
        add("escape/passwd")
    elif kind == "hardlink":
        add("shadow", type=tarfile.LNKTYPE, linkname="../../../etc/shadow")
    elif kind == "device":
        add("dev/sda", type=tarfile.BLKTYPE, devmajor=8, devminor=0)
layer = buf.getvalue()
def blob(data):
    d = hashlib.sha256(data).hexdigest()
    os.makedirs(f"{out}/blobs/sha256", exist_ok=True)
    open(f"{out}/blobs/sha256/{d}", "wb").write(data)
    return "sha256:" + d, len(data)
ld, ls = blob(layer)
cfg = json.dumps({"architecture": "amd64", "os": "linux", "rootfs": {"type": "layers", "diff_ids": [ld]}}).encode()
cd, cs = blob(cfg)
man = json.dumps({"schemaVersion": 2, "mediaType": "application/vnd.oci.image.manifest.v1+json",
                  "config": {"mediaType": "application/vnd.oci.image.config.v1+json", "digest": cd, "size": cs},
                  "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar", "digest": ld, "size": ls}]}).encode()
md, ms = blob(man)
json.dump({"schemaVersion": 2, "manifests": [{"mediaType": "application/vnd.oci.image.manifest.v1+json",
           "digest": md, "size": ms}]}, open(f"{out}/index.json", "w"))
json.dump({"imageLayoutVersion": "1.0.0"}, open(f"{out}/oci-layout", "w"))
EOF
}

@test "hostile layers are refused: .., symlinked parent, outside hard link, device node" {
        aula image ls >/dev/null
        before=$(store_listing)
        for kind in dotdot symlink hardlink device; do
                hostile_layout "$AULA_TEST_TMP/$kind" "$kind"
        done
        run aula image import "$AULA_TEST_TMP/dotdot" --name x
        [ "$status" -eq 1 ]
        [[ "$output" == *"'..' component"* ]]
        run aula image import "$AULA_TEST_TMP/symlink" --name x
        [ "$status" -eq 1 ]
        [[ "$output" == *"leads through the symlink 'escape'"* ]]
        run aula image import "$AULA_TEST_TMP/hardlink" --name x
        [ "$status" -eq 1 ]
        [[ "$output" == *"outside the layer"* ]]
        run aula image import --no-devices "$AULA_TEST_TMP/device" --name x
        [ "$status" -eq 1 ]
        [[ "$output" == *"device node"* ]]
        [ "$(store_listing)" = "$before" ]
}

@test "an interrupted import leaves nothing visible, and gc clears its staging" {
        head -c 96M /dev/urandom >"$AULA_TEST_TMP/big"
        umoci insert --image "$LAYOUT:bb" "$AULA_TEST_TMP/big" /big
        # The binary itself in the background (not the aula() wrapper), so that the kill reaches it.
        "$AULA" --root "$AULA_TEST_ROOT" image import -q "$LAYOUT:bb" --name big &
        pid=$!
        # The staging directory appears first and lives for the whole import.
        for _ in $(seq 1 500); do
                compgen -G "$AULA_TEST_ROOT/images/tmp/import-*" >/dev/null && break
                sleep 0.01
        done
        kill -KILL "$pid"
        wait "$pid" || true
        [ "$(aula image ls --format json | jq length)" = 0 ]
        [ -z "$(find "$AULA_TEST_ROOT/images/images" -type f)" ]
        run aula image gc --format json
        [ "$status" -eq 0 ]
        [ "$(echo "$output" | jq .tmpRemoved)" -ge 1 ]
        [ -z "$(ls "$AULA_TEST_ROOT/images/tmp")" ]
}

@test "every command has --help; unknown ones are usage errors" {
        for c in import pull ls inspect rm gc tag mount unmount bundle; do
                run aula image "$c" --help
                [ "$status" -eq 0 ]
                [[ "$output" == "Usage: aula image $c"* ]]
        done
        run aula --help
        [ "$status" -eq 0 ]
        run aula image frobnicate
        [ "$status" -eq 2 ]
        run aula image import
        [ "$status" -eq 2 ]
}
