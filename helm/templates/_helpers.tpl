{{/*
Names. fullname: <release>-rds-csi, or <release> when it already contains the chart name.
*/}}
{{- define "rds-csi.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rds-csi.fullname" -}}
{{- if .Values.fullnameOverride }}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- $name := default .Chart.Name .Values.nameOverride }}
{{- if contains $name .Release.Name }}
{{- .Release.Name | trunc 63 | trimSuffix "-" }}
{{- else }}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" }}
{{- end }}
{{- end }}
{{- end }}

{{/* Name of one component's objects: (dict "ctx" $ "component" "controller") */}}
{{- define "rds-csi.componentName" -}}
{{- printf "%s-%s" (include "rds-csi.fullname" .ctx) .component | trunc 63 | trimSuffix "-" }}
{{- end }}

{{- define "rds-csi.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/* Labels of every object. */}}
{{- define "rds-csi.labels" -}}
helm.sh/chart: {{ include "rds-csi.chart" . }}
app.kubernetes.io/name: {{ include "rds-csi.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: rds-csi
{{- end }}

{{/* Selector labels of one component: (dict "ctx" $ "component" "controller") */}}
{{- define "rds-csi.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rds-csi.name" .ctx }}
app.kubernetes.io/instance: {{ .ctx.Release.Name }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* All labels of one component's objects: (dict "ctx" $ "component" "controller") */}}
{{- define "rds-csi.componentLabels" -}}
{{ include "rds-csi.labels" .ctx }}
app.kubernetes.io/component: {{ .component }}
{{- end }}

{{/* The one rds-csi image. */}}
{{- define "rds-csi.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (default .Chart.AppVersion .Values.image.tag) }}
{{- end }}
{{- end }}

{{/* An image from {repository, tag}. */}}
{{- define "rds-csi.imageRef" -}}
{{- printf "%s:%s" .repository .tag }}
{{- end }}

{{- define "rds-csi.controllerServiceAccountName" -}}
{{- default (include "rds-csi.componentName" (dict "ctx" . "component" "controller")) .Values.controller.serviceAccount.name }}
{{- end }}

{{- define "rds-csi.workerServiceAccountName" -}}
{{- default (include "rds-csi.componentName" (dict "ctx" . "component" "worker")) .Values.worker.serviceAccount.name }}
{{- end }}

{{- define "rds-csi.nodeServiceAccountName" -}}
{{- default (include "rds-csi.componentName" (dict "ctx" . "component" "node")) .Values.node.serviceAccount.name }}
{{- end }}

{{/* Secret with the RouterOS credentials (and CA). */}}
{{- define "rds-csi.rdsSecretName" -}}
{{- default (include "rds-csi.componentName" (dict "ctx" . "component" "rds")) .Values.rds.credentials.existingSecret }}
{{- end }}

{{/* Secret with the internal Redis password. */}}
{{- define "rds-csi.redisSecretName" -}}
{{- default (include "rds-csi.componentName" (dict "ctx" . "component" "redis")) .Values.redis.internal.auth.existingSecret }}
{{- end }}

{{/* Secret the chart makes for an external Redis: its CA and the Sentinel password, when given inline. */}}
{{- define "rds-csi.redisExternalSecretName" -}}
{{- include "rds-csi.componentName" (dict "ctx" . "component" "redis-external") }}
{{- end }}

{{/* Secret with the external Redis CA (rediss://), or nothing when there is none. */}}
{{- define "rds-csi.redisCaSecretName" -}}
{{- $t := .Values.redis.external.tls }}
{{- if eq .Values.redis.mode "external" }}
{{- if $t.existingSecret }}{{ $t.existingSecret }}{{ else if $t.ca }}{{ include "rds-csi.redisExternalSecretName" . }}{{ end }}
{{- end }}
{{- end }}

{{/* Secret with the Sentinel password, or nothing when the Sentinels need none. */}}
{{- define "rds-csi.sentinelSecretName" -}}
{{- $s := .Values.redis.external.sentinel }}
{{- if and (eq .Values.redis.mode "external") $s.sentinels }}
{{- if $s.existingSecret }}{{ $s.existingSecret }}{{ else if $s.password }}{{ include "rds-csi.redisExternalSecretName" . }}{{ end }}
{{- end }}
{{- end }}

{{/* Secret with the job dashboard credential. */}}
{{- define "rds-csi.dashboardSecretName" -}}
{{- default (include "rds-csi.componentName" (dict "ctx" . "component" "dashboard")) .Values.dashboard.existingSecret }}
{{- end }}

{{/* "true" when the controller mounts a dashboard credential (basic auth and/or token). */}}
{{- define "rds-csi.dashboardCredential" -}}
{{- if and .Values.dashboard.enabled (or .Values.dashboard.basicAuth.enabled .Values.dashboard.token.enabled) }}true{{ end }}
{{- end }}

{{/* Where controller and worker find mounted files. */}}
{{- define "rds-csi.redisCaDir" -}}/etc/rds-csi/redis-tls{{- end }}
{{- define "rds-csi.dashboardDir" -}}/etc/rds-csi/dashboard{{- end }}

{{/* --dashboard-listen value: bindAddress:port, an IPv6 address in brackets. */}}
{{- define "rds-csi.dashboardListen" -}}
{{- $a := .Values.dashboard.bindAddress }}
{{- printf "%s:%d" (ternary (printf "[%s]" $a) $a (contains ":" $a)) (.Values.dashboard.port | int) }}
{{- end }}

{{/* The dashboard listens beyond the pod's loopback (so other pods could reach it). */}}
{{- define "rds-csi.dashboardExposed" -}}
{{- if not (has .Values.dashboard.bindAddress (list "127.0.0.1" "::1")) }}true{{ end }}
{{- end }}

{{- define "rds-csi.redisHost" -}}
{{- printf "%s.%s.svc" (include "rds-csi.componentName" (dict "ctx" . "component" "redis")) .Release.Namespace }}
{{- end }}

{{/* Path of the pinned RDS CA inside controller and worker containers. */}}
{{- define "rds-csi.rdsCaDir" -}}/etc/rds-csi/rds-tls{{- end }}

{{- define "rds-csi.pinCA" -}}
{{- if and .Values.rds.tls.enabled .Values.rds.tls.pinCA }}true{{ end }}
{{- end }}

{{/*
Fails the render with a clear message when the values cannot work. Included once, by the controller Deployment.
*/}}
{{- define "rds-csi.validate" -}}
{{- include "rds-csi.validateBackends" . }}
{{- if not .Values.rds.host }}
{{- fail "rds.host is required: the address of the RDS RouterOS API (e.g. --set rds.host=rds.example.lan)" }}
{{- end }}
{{- if not .Values.rds.credentials.existingSecret }}
{{- if not .Values.rds.credentials.password }}
{{- fail "rds.credentials.password is required (or rds.credentials.existingSecret naming a Secret with the credentials)" }}
{{- end }}
{{- if and (include "rds-csi.pinCA" .) (not .Values.rds.tls.ca) }}
{{- fail "rds.tls.ca is required when rds.tls.pinCA is on (--set-file rds.tls.ca=ca.pem), or set rds.tls.pinCA=false" }}
{{- end }}
{{- end }}
{{- if eq .Values.redis.mode "external" }}
{{- if not (or .Values.redis.external.url .Values.redis.external.existingSecret) }}
{{- fail "redis.mode=external needs redis.external.url or redis.external.existingSecret" }}
{{- end }}
{{- end }}
{{- if eq .Values.redis.mode "external" }}
{{- $s := .Values.redis.external.sentinel }}
{{- if and $s.sentinels (not $s.masterName) }}
{{- fail "redis.external.sentinel.sentinels is set but redis.external.sentinel.masterName (the master group the Sentinels monitor) is not" }}
{{- end }}
{{- if and $s.masterName (not $s.sentinels) }}
{{- fail "redis.external.sentinel.masterName is set but redis.external.sentinel.sentinels (host:port of each Sentinel) is empty" }}
{{- end }}
{{- $url := .Values.redis.external.url }}
{{- if and (include "rds-csi.redisCaSecretName" .) $url (not .Values.redis.external.existingSecret) (not (hasPrefix "rediss://" $url)) }}
{{- fail "redis.external.tls needs a rediss:// URL (the CA is for TLS; redis:// is plain text)" }}
{{- end }}
{{- end }}
{{- $d := .Values.dashboard }}
{{- if $d.dangerousInsecureNoAuth }}
{{- if not $d.enabled }}
{{- fail "dashboard.dangerousInsecureNoAuth needs dashboard.enabled=true" }}
{{- end }}
{{- if or $d.basicAuth.enabled $d.token.enabled }}
{{- fail "dashboard.dangerousInsecureNoAuth serves the dashboard WITHOUT authentication and cannot go with dashboard.basicAuth.enabled or dashboard.token.enabled: turn those off, or (better) turn dangerousInsecureNoAuth off" }}
{{- end }}
{{- else if and $d.enabled (not (include "rds-csi.dashboardCredential" .)) }}
{{- fail "dashboard.enabled needs a credential: dashboard.basicAuth.enabled and/or dashboard.token.enabled (the dashboard is never served without authentication unless dashboard.dangerousInsecureNoAuth is set)" }}
{{- end }}
{{- if has (int $d.port) (list (int .Values.controller.httpPort) (int .Values.controller.healthPort)) }}
{{- fail "dashboard.port must differ from controller.httpPort and controller.healthPort: the dashboard has a port of its own, never the metrics port" }}
{{- end }}
{{- if and (eq .Values.redis.mode "internal") .Values.redis.internal.persistence.enabled }}
{{- $sc := .Values.redis.internal.persistence.storageClass }}
{{- if and $sc (or (eq $sc .Values.storageClasses.filesystem.name) (eq $sc .Values.storageClasses.blockRWX.name)) }}
{{- fail "redis.internal.persistence.storageClass must not be a StorageClass of this driver: Redis has to run before the driver can provision anything" }}
{{- end }}
{{- end }}
{{- end }}

{{/*
Environment shared by controller and worker: driver settings, RDS connection and credentials, Redis URL.
Numbers go through int64: Helm reads values as float64 and would print 1048576 as 1.048576e+06.
*/}}
{{- define "rds-csi.serverEnv" -}}
{{ include "rds-csi.driverEnv" . }}
{{- with .Values.driver.volumePrefix }}
- name: RDS_CSI_VOLUME_PREFIX
  value: {{ . | quote }}
{{- end }}
{{- with .Values.driver.clusterId }}
- name: RDS_CSI_CLUSTER_ID
  value: {{ . | quote }}
{{- end }}
- name: RDS_CSI_HEALTH_POOL_FULL_PERCENT
  value: {{ .Values.driver.health.poolFullPercent | quote }}
- name: RDS_CSI_VOLUMES_MIN_BYTES
  value: {{ .Values.driver.volumes.minBytes | int64 | quote }}
- name: RDS_CSI_VOLUMES_MAX_BYTES
  value: {{ .Values.driver.volumes.maxBytes | int64 | quote }}
- name: RDS_CSI_VOLUMES_DEFAULT_BYTES
  value: {{ .Values.driver.volumes.defaultBytes | int64 | quote }}
- name: RDS_CSI_RDS_HOST
  value: {{ .Values.rds.host | quote }}
- name: RDS_CSI_RDS_PORT
  value: {{ .Values.rds.port | int64 | quote }}
- name: RDS_CSI_RDS_TLS
  value: {{ .Values.rds.tls.enabled | quote }}
{{- if not .Values.rds.tls.enabled }}
{{- /* rds.tls.enabled=false is the operator's explicit choice of plain API: the driver refuses it otherwise. */}}
- name: RDS_CSI_RDS_INSECURE_PLAINTEXT
  value: "true"
{{- end }}
{{- if include "rds-csi.pinCA" . }}
{{- /* An environment variable rather than --rds-ca-file: `kubectl exec … rds-csi doctor controller` (and jobs,
       volumes, orphans) then runs with exactly the settings of the process it sits beside. */}}
- name: RDS_CSI_RDS_CA_FILE
  value: {{ printf "%s/ca.crt" (include "rds-csi.rdsCaDir" .) | quote }}
{{- end }}
{{- if .Values.rds.tls.serverName }}
- name: RDS_CSI_RDS_TLS_SERVER_NAME
  value: {{ .Values.rds.tls.serverName | quote }}
{{- end }}
- name: RDS_CSI_RDS_USER
  valueFrom:
    secretKeyRef:
      name: {{ include "rds-csi.rdsSecretName" . }}
      key: {{ .Values.rds.credentials.usernameKey }}
- name: RDS_CSI_RDS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "rds-csi.rdsSecretName" . }}
      key: {{ .Values.rds.credentials.passwordKey }}
- name: RDS_CSI_RDS_POOL_NAME
  value: {{ .Values.rds.poolName | quote }}
- name: RDS_CSI_RDS_BASE_PATH
  value: {{ .Values.rds.basePath | quote }}
{{- if .Values.rds.exportAddress }}
- name: RDS_CSI_RDS_EXPORT_ADDRESS
  value: {{ .Values.rds.exportAddress | quote }}
{{- end }}
- name: RDS_CSI_RDS_EXPORT_PORT
  value: {{ .Values.rds.exportPort | int64 | quote }}
- name: RDS_CSI_RDS_CONNECT_TIMEOUT_MS
  value: {{ .Values.rds.connectTimeoutMs | int64 | quote }}
- name: RDS_CSI_RDS_CALL_TIMEOUT_MS
  value: {{ .Values.rds.callTimeoutMs | int64 | quote }}
- name: RDS_CSI_RDS_BREAKER_THRESHOLD
  value: {{ .Values.rds.breakerThreshold | int64 | quote }}
- name: RDS_CSI_RDS_BREAKER_OPEN_MS
  value: {{ .Values.rds.breakerOpenMs | int64 | quote }}
{{- include "rds-csi.backendsEnv" . }}
- name: RDS_CSI_WORKER_CONCURRENCY
  value: {{ .Values.worker.concurrency | int64 | quote }}
- name: RDS_CSI_WORKER_ATTEMPTS
  value: {{ .Values.worker.attempts | int64 | quote }}
- name: RDS_CSI_WORKER_BACKOFF_MS
  value: {{ .Values.worker.backoffMs | int64 | quote }}
- name: RDS_CSI_WORKER_BACKOFF_MAX_MS
  value: {{ .Values.worker.backoffMaxMs | default 5000 | int64 | quote }}
- name: RDS_CSI_WORKER_LEASE_MS
  value: {{ .Values.worker.leaseMs | int64 | quote }}
- name: RDS_CSI_WORKER_LOCK_MS
  value: {{ .Values.worker.lockMs | int64 | quote }}
- name: RDS_CSI_WORKER_STALLED_INTERVAL_MS
  value: {{ .Values.worker.stalledIntervalMs | int64 | quote }}
- name: RDS_CSI_WORKER_POOL_READING_TTL_MS
  value: {{ .Values.worker.poolReadingTtlMs | int64 | quote }}
- name: RDS_CSI_API_DEADLINE_MARGIN_MS
  value: {{ .Values.controller.api.deadlineMarginMs | int64 | quote }}
- name: RDS_CSI_API_DEFAULT_WAIT_MS
  value: {{ .Values.controller.api.defaultWaitMs | int64 | quote }}
- name: RDS_CSI_FENCING_STORAGE_SIDE
  value: {{ .Values.fencing.storageSide | quote }}
- name: RDS_CSI_FENCING_DEFAULT_MIGRATION_WINDOW_SECONDS
  value: {{ .Values.fencing.defaultMigrationWindowSeconds | int64 | quote }}
- name: RDS_CSI_FENCING_RECONCILE_INTERVAL_MS
  value: {{ .Values.fencing.reconcileIntervalMs | int64 | quote }}
{{- /* In a pod "auto" would find the cluster too; "on" makes a missing service account fail loudly instead of
       falling back to standalone mode, where fencing knows no nodes. */}}
- name: RDS_CSI_KUBERNETES_MODE
  value: {{ .Values.driver.kubernetesMode | quote }}
- name: RDS_CSI_ORPHANS_INTERVAL_MS
  value: {{ .Values.orphans.intervalMs | int64 | quote }}
- name: RDS_CSI_ORPHANS_DELETE
  value: {{ .Values.orphans.delete | quote }}
- name: RDS_CSI_ORPHANS_GRACE_MS
  value: {{ .Values.orphans.graceMs | int64 | quote }}
{{- include "rds-csi.redisEnv" . | trim | nindent 0 }}
{{- with .Values.driver.extraEnv }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/* Settings every component (node included) must agree on. */}}
{{- define "rds-csi.driverEnv" -}}
- name: RDS_CSI_DRIVER_NAME
  value: {{ .Values.driver.name | quote }}
- name: RDS_CSI_NQN_PREFIX
  value: {{ .Values.driver.nqnPrefix | quote }}
- name: RDS_CSI_QUEUE_PREFIX
  value: {{ .Values.driver.queuePrefix | quote }}
- name: RDS_CSI_LOG_LEVEL
  value: {{ .Values.driver.logLevel | quote }}
{{- /* The topology segment <driver name>/backend=<rds.backend>: reported by the node, used by the controller. */}}
- name: RDS_CSI_RDS_BACKEND
  value: {{ .Values.rds.backend | quote }}
{{- end }}

{{/*
RDS_CSI_REDIS_URL. Internal Redis with AUTH: the password comes from the Secret into REDIS_PASSWORD, and Kubernetes
expands $(REDIS_PASSWORD) inside the URL (it is declared first), so the password never sits in a manifest.
*/}}
{{- define "rds-csi.redisEnv" -}}
{{- if eq .Values.redis.mode "external" }}
{{- if .Values.redis.external.existingSecret }}
- name: RDS_CSI_REDIS_URL
  valueFrom:
    secretKeyRef:
      name: {{ .Values.redis.external.existingSecret }}
      key: {{ .Values.redis.external.existingSecretKey }}
{{- else }}
- name: RDS_CSI_REDIS_URL
  value: {{ .Values.redis.external.url | quote }}
{{- end }}
{{- if include "rds-csi.redisCaSecretName" . }}
- name: RDS_CSI_REDIS_CA_FILE
  value: {{ printf "%s/ca.crt" (include "rds-csi.redisCaDir" .) | quote }}
{{- end }}
{{- with .Values.redis.external.sentinel }}
{{- if .sentinels }}
- name: RDS_CSI_REDIS_SENTINELS
  value: {{ join "," .sentinels | quote }}
- name: RDS_CSI_REDIS_SENTINEL_NAME
  value: {{ .masterName | quote }}
{{- end }}
{{- end }}
{{- with include "rds-csi.sentinelSecretName" . }}
- name: RDS_CSI_REDIS_SENTINEL_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ . }}
      key: {{ $.Values.redis.external.sentinel.existingSecretKey }}
{{- end }}
{{- else if .Values.redis.internal.auth.enabled }}
- name: REDIS_PASSWORD
  valueFrom:
    secretKeyRef:
      name: {{ include "rds-csi.redisSecretName" . }}
      key: {{ .Values.redis.internal.auth.existingSecretKey }}
- name: RDS_CSI_REDIS_URL
  value: {{ printf "redis://:$(REDIS_PASSWORD)@%s:6379/0" (include "rds-csi.redisHost" .) | quote }}
{{- else }}
- name: RDS_CSI_REDIS_URL
  value: {{ printf "redis://%s:6379/0" (include "rds-csi.redisHost" .) | quote }}
{{- end }}
- name: RDS_CSI_REDIS_WAIT_REPLICAS
  value: {{ .Values.redis.waitReplicas | quote }}
- name: RDS_CSI_REDIS_WAIT_TIMEOUT_MS
  value: {{ .Values.redis.waitTimeoutMs | quote }}
{{- end }}

{{/* Files mounted into controller and worker: the pinned RDS CA and the external Redis CA. */}}
{{- define "rds-csi.serverVolumeMounts" -}}
- name: tmp
  mountPath: /tmp
{{- if include "rds-csi.pinCA" . }}
- name: rds-tls
  mountPath: {{ include "rds-csi.rdsCaDir" . }}
  readOnly: true
{{- end }}
{{- if include "rds-csi.redisCaSecretName" . }}
- name: redis-tls
  mountPath: {{ include "rds-csi.redisCaDir" . }}
  readOnly: true
{{- end }}
{{- include "rds-csi.backendVolumeMounts" . }}
{{- end }}

{{- define "rds-csi.serverVolumes" -}}
- name: tmp
  emptyDir:
    medium: Memory
    sizeLimit: 16Mi
{{- if include "rds-csi.pinCA" . }}
- name: rds-tls
  secret:
    secretName: {{ include "rds-csi.rdsSecretName" . }}
    defaultMode: 0444
    items:
      - key: {{ .Values.rds.credentials.caKey }}
        path: ca.crt
{{- end }}
{{- with include "rds-csi.redisCaSecretName" . }}
- name: redis-tls
  secret:
    secretName: {{ . }}
    defaultMode: 0444
    items:
      - key: {{ $.Values.redis.external.tls.existingSecretKey }}
        path: ca.crt
{{- end }}
{{- include "rds-csi.backendVolumes" . }}
{{- end }}

{{/* Restricted container security context (controller, worker and the controller's sidecars). */}}
{{- define "rds-csi.restrictedContainerSecurityContext" -}}
allowPrivilegeEscalation: false
readOnlyRootFilesystem: true
capabilities:
  drop: ["ALL"]
{{- end }}

{{/* Restricted pod security context: non-root, default seccomp. */}}
{{- define "rds-csi.restrictedPodSecurityContext" -}}
runAsNonRoot: true
runAsUser: 65532
runAsGroup: 65532
fsGroup: 65532
seccompProfile:
  type: RuntimeDefault
{{- end }}

{{/* Preferred anti-affinity spreading one component's replicas over nodes: (dict "ctx" $ "component" "worker") */}}
{{- define "rds-csi.spreadAffinity" -}}
podAntiAffinity:
  preferredDuringSchedulingIgnoredDuringExecution:
    - weight: 100
      podAffinityTerm:
        topologyKey: kubernetes.io/hostname
        labelSelector:
          matchLabels:
            {{- include "rds-csi.selectorLabels" . | nindent 12 }}
{{- end }}
