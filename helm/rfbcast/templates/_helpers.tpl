{{/*
The chart's name, or nameOverride.
*/}}
{{- define "rfbcast.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
A fully qualified app name, at most 63 characters (the DNS label limit of some name fields).
A release name that already contains the chart name is used as it is.
*/}}
{{- define "rfbcast.fullname" -}}
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

{{/*
Chart name and version, for the helm.sh/chart label.
*/}}
{{- define "rfbcast.chart" -}}
{{- printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{- end }}

{{/*
Labels on every object.
*/}}
{{- define "rfbcast.labels" -}}
helm.sh/chart: {{ include "rfbcast.chart" . }}
{{ include "rfbcast.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/part-of: rfbcast
app.kubernetes.io/managed-by: {{ .Release.Service }}
{{- with .Values.commonLabels }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
Selector labels: what Services and the Deployment match pods by.
*/}}
{{- define "rfbcast.selectorLabels" -}}
app.kubernetes.io/name: {{ include "rfbcast.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end }}

{{/*
What the Services select: the chart's pods, or in sidecar mode the pods the sidecar was added to.
*/}}
{{- define "rfbcast.podSelector" -}}
{{- if .Values.sidecar.enabled }}
{{- if not .Values.sidecar.podSelector }}
{{- fail "sidecar.podSelector: give the labels of the pods the sidecar is added to" }}
{{- end }}
{{- toYaml .Values.sidecar.podSelector }}
{{- else }}
{{- include "rfbcast.selectorLabels" . }}
{{- end }}
{{- end }}

{{- define "rfbcast.image" -}}
{{- if .Values.image.digest }}
{{- printf "%s@%s" .Values.image.repository .Values.image.digest }}
{{- else }}
{{- printf "%s:%s" .Values.image.repository (.Values.image.tag | default .Chart.AppVersion) }}
{{- end }}
{{- end }}

{{/*
Where secret files are mounted.
*/}}
{{- define "rfbcast.secretDir" -}}
/run/secrets/rfbcast
{{- end }}

{{/*
The TOML config: config.raw through tpl, or config.settings and config.sessions rendered as
top-level keys and [[session]] tables. JSON scalars and arrays of them are valid TOML values.
No blank lines: nindent would indent them into trailing spaces inside the ConfigMap.
*/}}
{{- define "rfbcast.configToml" -}}
{{- if .Values.config.raw }}
{{- tpl .Values.config.raw . }}
{{- else -}}
# Rendered by the rfbcast chart from .Values.config; listeners, log format and level are flags.
{{- range $key, $value := .Values.config.settings }}
{{ $key }} = {{ toJson $value }}
{{- end }}
{{- range .Values.config.sessions }}
[[session]]
{{- range $key, $value := . }}
{{ $key }} = {{ toJson $value }}
{{- end }}
{{- end }}
{{- end }}
{{- end }}

{{/*
rfbcast's command-line flags.
*/}}
{{- define "rfbcast.args" -}}
{{- $secrets := .Values.secrets -}}
{{- $dir := include "rfbcast.secretDir" . -}}
- --config=/etc/rfbcast/rfbcast.toml
- --listen={{ .Values.listenAddress }}:{{ .Values.ports.vnc }}
{{- if .Values.http.enabled }}
- --http-listen={{ .Values.listenAddress }}:{{ .Values.ports.http }}
{{- end }}
{{- if .Values.repeater.enabled }}
- --repeater-listen={{ .Values.listenAddress }}:{{ .Values.ports.repeater }}
{{- end }}
- --metrics-listen={{ .Values.listenAddress }}:{{ .Values.ports.metrics }}
- --log-format=json
- --log-level={{ .Values.logLevel }}
- --drain-timeout={{ .Values.drainTimeoutSeconds }}
{{- with (.Values.upstream | default (ternary .Values.sidecar.upstream "" .Values.sidecar.enabled)) }}
- --upstream={{ . }}
{{- end }}
{{- with $secrets.passwords.existingSecret }}
{{- with $secrets.passwords.controlKey }}
- --password-file={{ $dir }}/passwords/{{ . }}
{{- end }}
{{- with $secrets.passwords.viewOnlyKey }}
- --viewonly-password-file={{ $dir }}/passwords/{{ . }}
{{- end }}
{{- end }}
{{- with $secrets.upstream.existingSecret }}
{{- with $secrets.upstream.passwordKey }}
- --upstream-password-file={{ $dir }}/upstream/{{ . }}
{{- end }}
{{- with $secrets.upstream.usernameKey }}
- --upstream-username-file={{ $dir }}/upstream/{{ . }}
{{- end }}
{{- end }}
{{- if $secrets.tls.existingSecret }}
- --tls-cert-file={{ $dir }}/tls/tls.crt
- --tls-key-file={{ $dir }}/tls/tls.key
{{- end }}
{{- if $secrets.users.existingSecret }}
- --users-file={{ $dir }}/users/{{ $secrets.users.key }}
{{- end }}
{{- with .Values.extraArgs }}
{{ toYaml . }}
{{- end }}
{{- end }}

{{/*
The pod's seccomp profile (also set on the container, so a sidecar carries its own).
*/}}
{{- define "rfbcast.seccompProfile" -}}
type: {{ .Values.seccomp.type }}
{{- if eq .Values.seccomp.type "Localhost" }}
localhostProfile: {{ required "seccomp.localhostProfile is required with type Localhost" .Values.seccomp.localhostProfile }}
{{- end }}
{{- end }}

{{/*
The rfbcast container, as a list item. Called with (dict "ctx" $ "sidecar" bool): the sidecar
form is a native sidecar (an init container with restartPolicy Always).
*/}}
{{- define "rfbcast.container" -}}
{{- $ctx := .ctx -}}
{{- $dir := include "rfbcast.secretDir" $ctx -}}
- name: rfbcast
  image: {{ include "rfbcast.image" $ctx | quote }}
  imagePullPolicy: {{ $ctx.Values.image.pullPolicy }}
  {{- if .sidecar }}
  restartPolicy: Always
  {{- end }}
  args:
    {{- include "rfbcast.args" $ctx | nindent 4 }}
  {{- with $ctx.Values.extraEnv }}
  env:
    {{- toYaml . | nindent 4 }}
  {{- end }}
  ports:
    - name: vnc
      containerPort: {{ $ctx.Values.ports.vnc }}
      protocol: TCP
    {{- if $ctx.Values.http.enabled }}
    - name: http
      containerPort: {{ $ctx.Values.ports.http }}
      protocol: TCP
    {{- end }}
    {{- if $ctx.Values.repeater.enabled }}
    - name: repeater
      containerPort: {{ $ctx.Values.ports.repeater }}
      protocol: TCP
    {{- end }}
    - name: metrics
      containerPort: {{ $ctx.Values.ports.metrics }}
      protocol: TCP
  startupProbe:
    httpGet:
      path: /healthz
      port: metrics
    {{- toYaml $ctx.Values.probes.startup | nindent 4 }}
  livenessProbe:
    httpGet:
      path: /healthz
      port: metrics
    {{- toYaml $ctx.Values.probes.liveness | nindent 4 }}
  readinessProbe:
    httpGet:
      path: /readyz
      port: metrics
    {{- toYaml $ctx.Values.probes.readiness | nindent 4 }}
  resources:
    {{- toYaml $ctx.Values.resources | nindent 4 }}
  securityContext:
    {{- toYaml $ctx.Values.securityContext | nindent 4 }}
    seccompProfile:
      {{- include "rfbcast.seccompProfile" $ctx | nindent 6 }}
  volumeMounts:
    - name: rfbcast-config
      mountPath: /etc/rfbcast
      readOnly: true
    - name: rfbcast-tmp
      mountPath: /tmp
    {{- if $ctx.Values.secrets.passwords.existingSecret }}
    - name: rfbcast-passwords
      mountPath: {{ $dir }}/passwords
      readOnly: true
    {{- end }}
    {{- if $ctx.Values.secrets.upstream.existingSecret }}
    - name: rfbcast-upstream
      mountPath: {{ $dir }}/upstream
      readOnly: true
    {{- end }}
    {{- if $ctx.Values.secrets.tls.existingSecret }}
    - name: rfbcast-tls
      mountPath: {{ $dir }}/tls
      readOnly: true
    {{- end }}
    {{- if $ctx.Values.secrets.users.existingSecret }}
    - name: rfbcast-users
      mountPath: {{ $dir }}/users
      readOnly: true
    {{- end }}
    {{- range $ctx.Values.secrets.extra }}
    - name: rfbcast-secret-{{ .name }}
      mountPath: {{ $dir }}/{{ .name }}
      readOnly: true
    {{- end }}
    {{- with $ctx.Values.extraVolumeMounts }}
    {{- toYaml . | nindent 4 }}
    {{- end }}
{{- end }}

{{/*
The volumes the container mounts, as list items.
*/}}
{{- define "rfbcast.volumes" -}}
{{- $s := .Values.secrets -}}
- name: rfbcast-config
  configMap:
    name: {{ include "rfbcast.fullname" . }}
- name: rfbcast-tmp
  emptyDir:
    sizeLimit: 64Mi
{{- if $s.passwords.existingSecret }}
- name: rfbcast-passwords
  secret:
    secretName: {{ $s.passwords.existingSecret }}
    defaultMode: 288  # 0440: owner root, group fsGroup
    items:
      {{- with $s.passwords.controlKey }}
      - key: {{ . }}
        path: {{ . }}
      {{- end }}
      {{- with $s.passwords.viewOnlyKey }}
      - key: {{ . }}
        path: {{ . }}
      {{- end }}
{{- end }}
{{- if $s.upstream.existingSecret }}
- name: rfbcast-upstream
  secret:
    secretName: {{ $s.upstream.existingSecret }}
    defaultMode: 288  # 0440: owner root, group fsGroup
    items:
      {{- with $s.upstream.passwordKey }}
      - key: {{ . }}
        path: {{ . }}
      {{- end }}
      {{- with $s.upstream.usernameKey }}
      - key: {{ . }}
        path: {{ . }}
      {{- end }}
{{- end }}
{{- if $s.tls.existingSecret }}
- name: rfbcast-tls
  secret:
    secretName: {{ $s.tls.existingSecret }}
    defaultMode: 288  # 0440: owner root, group fsGroup
    items:
      - key: tls.crt
        path: tls.crt
      - key: tls.key
        path: tls.key
{{- end }}
{{- if $s.users.existingSecret }}
- name: rfbcast-users
  secret:
    secretName: {{ $s.users.existingSecret }}
    defaultMode: 288  # 0440: owner root, group fsGroup
    items:
      - key: {{ $s.users.key }}
        path: {{ $s.users.key }}
{{- end }}
{{- range $s.extra }}
- name: rfbcast-secret-{{ .name }}
  secret:
    secretName: {{ .secretName }}
    defaultMode: 288  # 0440: owner root, group fsGroup
{{- end }}
{{- with .Values.extraVolumes }}
{{ toYaml . }}
{{- end }}
{{- end }}
