#!/usr/bin/env bash
# Packs the engine, the benchmarks and the GPU tests into one folder that runs on a GPU host
# without Java or Maven: a trimmed Java 17 runtime (jlink, cached), the jars with only the
# linux-x86_64 natives, and the test classes (test resources are read from the source tree,
# which the host must have too).
#
#   tools/gpu-bundle.sh [--hopper] [OUT_DIR]   (default .gpu; run `mvn -B -DskipTests install`
#                                               first)
#
# --hopper ships the kernels as the sm_90a cubin alone (the build leaves it in cuda/target)
# instead of the jar's fatbin for three targets, some 4.7 MB less to carry: for H100 / H200
# hosts only. .gpu/java then loads it (-Dredress.cuda.fatbin, which a later -D overrides).
#
# On the host, from the project root:
#   bash .gpu/java -cp '.gpu/lib/*:.gpu/test-classes:inference-operator/src/test/resources' \
#       org.junit.platform.console.ConsoleLauncher execute --include-tag gpu \
#       --scan-class-path .gpu/test-classes
#   bash .gpu/java -cp '.gpu/lib/*' io.redress.bench.BenchCli decode --config qwen2.5-7b --device cuda
set -euo pipefail
root="$(cd "$(dirname "$0")/.." && pwd)"
hopper=""
if [[ "${1:-}" == "--hopper" ]]; then
  hopper="$root/cuda/target/kernels-sm_90a.cubin"
  shift
  [[ -f "$hopper" ]] || { echo "no $hopper: build the kernels with nvcc first" >&2; exit 1; }
fi
out="$(realpath -m "${1:-$root/.gpu}")"
jdk="${JAVA_HOME:-$(dirname "$(dirname "$(readlink -f "$(command -v javac)")")")}"
modules="java.base,java.logging,java.management,java.naming,java.xml,java.sql,jdk.unsupported,jdk.crypto.ec,jdk.zipfs,jdk.incubator.vector"
cache="${XDG_CACHE_HOME:-$HOME/.cache}/redress-jre"
key="$(echo "$jdk $modules" | sha1sum | cut -c1-12)"
if [[ ! -f "$cache/jre-$key.tgz" ]]; then
  mkdir -p "$cache"
  tmp="$(mktemp -d)"
  "$jdk/bin/jlink" --add-modules "$modules" --strip-debug --no-header-files --no-man-pages \
    --compress=2 --output "$tmp/jre" 2>/dev/null
  tar czf "$cache/jre-$key.tgz" -C "$tmp" jre
  rm -rf "$tmp"
fi
rm -rf "$out" && mkdir -p "$out/lib" "$out/test-classes"
cp "$cache/jre-$key.tgz" "$out/jre.tgz"
cp "$root/inference-operator/target/redress-inference.jar" "$root/bench/target/redress-bench.jar" "$out/lib/"
for j in "$root"/inference-operator/target/lib/*.jar; do
  name="$(basename "$j")"
  cp "$j" "$out/lib/"
  case "$name" in  # keep only the natives the GPU host (linux-x86_64) loads
    jcuda-natives-*) drop="$(unzip -Z1 "$j" | grep '^lib/lib' | grep -v JCudaDriver || true)" ;;
    tokenizers-*) drop="$(unzip -Z1 "$j" | grep -E '^native/lib/(linux-aarch64|osx-|win-)' || true)" ;;
    *) drop="" ;;
  esac
  [[ -n "$drop" ]] && zip -q -d "$out/lib/$name" $drop
done
# Test-scope jars the GPU tests need, from the module's test classpath.
(cd "$root/inference-operator" && mvn -q -o dependency:build-classpath -Dmdep.includeScope=test \
  -Dmdep.outputFile="$out/cp.txt" >/dev/null)
tr ':' '\n' < "$out/cp.txt" | grep -E 'assertj-core|json-schema-validator|itu-|jackson-dataformat-yaml|snakeyaml' \
  | xargs -r -I{} cp {} "$out/lib/"
rm "$out/cp.txt"
launcher="$(find "$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone" -name '*.jar' 2>/dev/null | sort | tail -1 || true)"
[[ -n "$launcher" ]] || (cd "$root" && mvn -q dependency:get -Dartifact=org.junit.platform:junit-platform-console-standalone:1.14.1)
cp "$(find "$HOME/.m2/repository/org/junit/platform/junit-platform-console-standalone" -name '*.jar' | sort | tail -1)" "$out/lib/"
(cd "$root/inference-operator/target/test-classes" && find . -name '*.class' | tar cf - -T - | tar xf - -C "$out/test-classes")
if [[ -n "$hopper" ]]; then
  for j in "$out"/lib/redress-cuda-*.jar; do zip -q -d "$j" io/redress/cuda/kernels.fatbin; done
  gzip -9c "$hopper" > "$out/kernels-sm_90a.cubin.gz"
fi
cat > "$out/java" <<'SH'
#!/usr/bin/env bash
here="$(cd "$(dirname "$0")" && pwd)"
[[ -x /tmp/redress-jre/jre/bin/java ]] || { mkdir -p /tmp/redress-jre && tar xzf "$here/jre.tgz" -C /tmp/redress-jre; }
kernels=()
if [[ -f "$here/kernels-sm_90a.cubin.gz" ]]; then  # a --hopper bundle (unpacked outside it)
  cubin=/tmp/redress-jre/kernels-sm_90a.cubin
  gunzip -c "$here/kernels-sm_90a.cubin.gz" > "$cubin.$$" && mv "$cubin.$$" "$cubin"
  kernels=("-Dredress.cuda.fatbin=$cubin")
fi
exec /tmp/redress-jre/jre/bin/java --add-modules jdk.incubator.vector "${kernels[@]}" "$@"
SH
chmod +x "$out/java"
echo "$(du -sh "$out" | cut -f1) in $out"
