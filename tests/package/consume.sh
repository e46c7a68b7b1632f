#!/bin/bash
# Packs MusicGen, then uses the packages as a .NET developer would, with nothing from this repository's build setup:
# a fresh console project that references MusicGen.Estimators from a local feed runs README's C# program
# (samples/QuickStart/Program.cs), and the musicgen tool installed from the same feed runs `musicgen demo`.
# Usage: bash tests/package/consume.sh WORK_FOLDER   (PackageTests runs it; about 2-4 minutes)
set -euo pipefail
work=$(realpath -m "${1:?usage: consume.sh WORK_FOLDER}")
repo=$(cd "$(dirname "$0")/../.." && pwd)
rm -rf "$work" && mkdir -p "$work"
# A version of its own for every run: NuGet keeps a package it has seen by id and version in its global cache, so
# packing the same version again would let the new project restore the old build.
version=$(sed -n 's:.*<Version>\(.*\)</Version>.*:\1:p' "$repo/Directory.Build.props")-local.$(date +%s)
for project in Transforms/MusicGen.Transforms Estimators/MusicGen.Estimators Host/MusicGen.Host; do
  dotnet pack "$repo/src/$project.csproj" -c Release -o "$work/feed" -nologo -v q -p:Version="$version"
done

# A console project outside the repository: no Directory.Build.props, no central versions, no RuntimeIdentifier.
mkdir -p "$work/app" && cd "$work/app"
cat > nuget.config <<XML
<?xml version="1.0" encoding="utf-8"?>
<configuration>
  <packageSources>
    <add key="musicgen" value="$work/feed" />
  </packageSources>
</configuration>
XML
# The user's own sources stay (nuget.config files add up); the local feed only adds MusicGen.
cat > app.csproj <<XML
<Project Sdk="Microsoft.NET.Sdk">
  <PropertyGroup>
    <OutputType>Exe</OutputType>
    <TargetFramework>net10.0</TargetFramework>
    <ImplicitUsings>enable</ImplicitUsings>
    <Nullable>enable</Nullable>
  </PropertyGroup>
  <ItemGroup>
    <PackageReference Include="MusicGen.Estimators" Version="$version" />
  </ItemGroup>
</Project>
XML
cp "$repo/samples/QuickStart/Program.cs" Program.cs
dotnet build -nologo -v q -o "$work/app/bin/out"
echo "bin: $(du -sh --apparent-size "$work/app/bin/out" | cut -f1)"
dotnet "$work/app/bin/out/app.dll" "$repo/data" "$work/app/out"
test -s "$work/app/out/continued.wav"
test -s "$work/app/out/model.zip"

# The tool, installed from the same feed into a folder of its own, run from an empty folder.
dotnet tool install musicgen --version "$version" --tool-path "$work/tool" --add-source "$work/feed" >/dev/null
mkdir -p "$work/elsewhere" && cd "$work/elsewhere"
# With STRESS_HOOK set (PackageTests sets it to its own assembly), the tool runs under a collector that runs all the
# time (tests/MusicGen.Tests/GcStress.cs): in a Release build a temporary tensor or Scalar handed to LibTorch can be
# finalized during the call, and this makes that show (docs/design.md, "Scalars must outlive the call").
if [ -n "${STRESS_HOOK:-}" ]; then export DOTNET_STARTUP_HOOKS="$STRESS_HOOK"; fi
"$work/tool/musicgen" demo --epochs 1 --seconds 2 --out demo
test -s demo/demo.wav
echo "consume.sh: the packages built and ran README's program and musicgen demo"
