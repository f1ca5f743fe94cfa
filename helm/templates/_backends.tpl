{{/*
Several RDS backends (issue 16, README "Several RDS backends"): `rds` is the primary, `backends` the others. Controller
and worker get the list as RDS_CSI_BACKENDS (JSON, the driver's `backends` key) with each backend's password read
from its own mounted Secret (passwordFile); every node plugin gets node.backends. Nothing of this renders while
`backends` is empty, so a single-RDS install renders as before.
*/}}

{{- define "rds-csi.backendsDir" -}}/etc/rds-csi/backends{{- end }}

{{/* "true" when the backend (the dict given) pins its CA: tls.enabled and tls.pinCA, both on unless set. */}}
{{- define "rds-csi.backendPinCA" -}}
{{- $tls := .tls | default dict }}
{{- if and (ternary $tls.enabled true (hasKey $tls "enabled")) (ternary $tls.pinCA true (hasKey $tls "pinCA")) }}true{{ end }}
{{- end }}

{{/* Render-time checks: names unique (a schema cannot say so) and not the primary's, a Secret for every backend. */}}
{{- define "rds-csi.validateBackends" -}}
{{- $seen := dict (toString .Values.rds.backend) "the primary backend (rds.backend)" }}
{{- range $i, $b := .Values.backends }}
{{- if not $b.existingSecret }}
{{- fail (printf "backends[%d] (%s): existingSecret is required: the name of a Secret with this RDS's RouterOS password under %q" $i (toString $b.name) ($b.passwordKey | default "password")) }}
{{- end }}
{{- if hasKey $seen (toString $b.name) }}
{{- fail (printf "backends[%d].name %q is already used by %s: every RDS backend needs its own name (volume ids <slot>@<name>, topology key <driver>/backend.<name>)" $i (toString $b.name) (get $seen (toString $b.name))) }}
{{- end }}
{{- $_ := set $seen (toString $b.name) (printf "backends[%d]" $i) }}
{{- end }}
{{- end }}

{{/* The driver's `backends` key as JSON (src/config/schema.ts extraBackendSchema). */}}
{{- define "rds-csi.backendsJson" -}}
{{- $r := .Values.rds }}
{{- $list := list }}
{{- range $b := .Values.backends }}
{{- $tls := $b.tls | default dict }}
{{- $dir := printf "%s/%s" (include "rds-csi.backendsDir" $) $b.name }}
{{- $e := dict "name" $b.name "host" $b.host "port" (int ($b.port | default 8729)) "user" ($b.username | default "admin") "passwordFile" (printf "%s/password" $dir) }}
{{- $_ := set $e "tls" (ternary $tls.enabled true (hasKey $tls "enabled")) }}
{{- if not $e.tls }}
{{- /* tls.enabled=false is the operator's explicit choice of plain API for this RDS, as for rds.tls.enabled. */}}
{{- $_ := set $e "insecurePlaintext" true }}
{{- end }}
{{- if include "rds-csi.backendPinCA" $b }}
{{- $_ := set $e "caFile" (printf "%s/ca.crt" $dir) }}
{{- end }}
{{- with $tls.serverName }}
{{- $_ := set $e "tlsServerName" . }}
{{- end }}
{{- $_ := set $e "poolName" ($b.poolName | default "pool") }}
{{- $_ := set $e "basePath" ($b.basePath | default "/pool/rds-csi") }}
{{- with $b.exportAddress }}
{{- $_ := set $e "exportAddress" . }}
{{- end }}
{{- $_ := set $e "exportPort" (int ($b.exportPort | default 4420)) }}
{{- with $b.zone }}
{{- $_ := set $e "zone" . }}
{{- end }}
{{- with $b.concurrency }}
{{- $_ := set $e "concurrency" (int .) }}
{{- end }}
{{- range $k := list "connectTimeoutMs" "callTimeoutMs" "breakerThreshold" "breakerOpenMs" }}
{{- $_ := set $e $k (int (get $r $k)) }}
{{- end }}
{{- $list = append $list $e }}
{{- end }}
{{- toJson $list }}
{{- end }}

{{/* Controller and worker: the extra backends and the primary's zone and job limit. */}}
{{- define "rds-csi.backendsEnv" -}}
{{- if .Values.backends }}
- name: RDS_CSI_BACKENDS
  value: {{ include "rds-csi.backendsJson" . | quote }}
{{- end }}
{{- with .Values.rds.zone }}
- name: RDS_CSI_PRIMARY_BACKEND_ZONE
  value: {{ . | quote }}
{{- end }}
{{- if gt (int (.Values.rds.concurrency | default 0)) 0 }}
- name: RDS_CSI_PRIMARY_BACKEND_CONCURRENCY
  value: {{ .Values.rds.concurrency | int64 | quote }}
{{- end }}
{{- end }}

{{/* Each extra backend's Secret: the password file, and the CA when pinned. */}}
{{- define "rds-csi.backendVolumes" -}}
{{- range $i, $b := .Values.backends }}
- name: rds-backend-{{ $i }}
  secret:
    secretName: {{ $b.existingSecret }}
    defaultMode: 0440
    items:
      - key: {{ $b.passwordKey | default "password" }}
        path: password
      {{- if include "rds-csi.backendPinCA" $b }}
      - key: {{ $b.caKey | default "ca.crt" }}
        path: ca.crt
      {{- end }}
{{- end }}
{{- end }}

{{- define "rds-csi.backendVolumeMounts" -}}
{{- range $i, $b := .Values.backends }}
- name: rds-backend-{{ $i }}
  mountPath: {{ printf "%s/%s" (include "rds-csi.backendsDir" $) $b.name }}
  readOnly: true
{{- end }}
{{- end }}

{{/*
Node plugin: node.backends, name=address:port of the NVMe/TCP target of the primary and of every extra backend, so
the node reports the topology segment of each one it reaches (README "Several RDS backends").
*/}}
{{- define "rds-csi.nodeBackendsEnv" -}}
{{- if .Values.backends }}
{{- $r := .Values.rds }}
{{- $list := list (printf "%s=%s:%d" $r.backend ($r.exportAddress | default $r.host) (int $r.exportPort)) }}
{{- range $b := .Values.backends }}
{{- $list = append $list (printf "%s=%s:%d" $b.name ($b.exportAddress | default $b.host) (int ($b.exportPort | default 4420))) }}
{{- end }}
- name: RDS_CSI_NODE_BACKENDS
  value: {{ join "," $list | quote }}
{{- end }}
{{- end }}
