# issue 5: docs/containers.md (Dockerfile, pod spec) checked against the code.
systemk_itest(it_docs_containers docs_containers.sh)
