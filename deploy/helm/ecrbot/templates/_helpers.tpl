{{/* Names and labels, the usual Helm way: the release's full name, capped at 63 characters. */}}
{{- define "ecrbot.name" -}}
{{- default .Chart.Name .Values.nameOverride | trunc 63 | trimSuffix "-" -}}
{{- end -}}

{{- define "ecrbot.fullname" -}}
{{- if .Values.fullnameOverride -}}
{{- .Values.fullnameOverride | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- $name := default .Chart.Name .Values.nameOverride -}}
{{- if contains $name .Release.Name -}}
{{- .Release.Name | trunc 63 | trimSuffix "-" -}}
{{- else -}}
{{- printf "%s-%s" .Release.Name $name | trunc 63 | trimSuffix "-" -}}
{{- end -}}
{{- end -}}
{{- end -}}

{{- define "ecrbot.selectorLabels" -}}
app.kubernetes.io/name: {{ include "ecrbot.name" . }}
app.kubernetes.io/instance: {{ .Release.Name }}
{{- end -}}

{{- define "ecrbot.labels" -}}
helm.sh/chart: {{ printf "%s-%s" .Chart.Name .Chart.Version | replace "+" "_" | trunc 63 | trimSuffix "-" }}
{{ include "ecrbot.selectorLabels" . }}
app.kubernetes.io/version: {{ .Chart.AppVersion | quote }}
app.kubernetes.io/managed-by: {{ .Release.Service }}
app.kubernetes.io/part-of: ecrbot
{{- end -}}

{{- define "ecrbot.serviceAccountName" -}}
{{- if .Values.serviceAccount.create -}}
{{- default (include "ecrbot.fullname" .) .Values.serviceAccount.name -}}
{{- else -}}
{{- required "serviceAccount.name: name the existing ServiceAccount (serviceAccount.create is false)" .Values.serviceAccount.name -}}
{{- end -}}
{{- end -}}

{{- define "ecrbot.image" -}}
{{ .Values.image.repository }}:{{ .Values.image.tag | default .Chart.AppVersion }}
{{- end -}}

{{- define "ecrbot.scaled" -}}
{{- if eq .Values.shape "scaled" }}true{{ end -}}
{{- end -}}

{{/* The secret's name, required: the chart never holds a token itself. */}}
{{- define "ecrbot.secret" -}}
{{- required "existingSecret: name the Secret holding SLACK_BOT_TOKEN (see values.yaml)" .Values.existingSecret -}}
{{- end -}}

{{/* Where the engine's API is: a unix socket on a volume shared by the two containers only. */}}
{{- define "ecrbot.dockerSocketDir" -}}/run/ecrbot-docker{{- end -}}
{{- define "ecrbot.dockerHost" -}}unix://{{ include "ecrbot.dockerSocketDir" . }}/docker.sock{{- end -}}

{{/* The catalog's checksum: in each pod template, so a catalog change rolls the pods. */}}
{{- define "ecrbot.catalogChecksum" -}}
checksum/catalog: {{ include (print $.Template.BasePath "/configmap-catalog.yaml") . | sha256sum }}
{{- end -}}

{{- define "ecrbot.podSecurityContext" -}}
fsGroup: 10001                    # the image's ecrbot user: it can write the volumes
fsGroupChangePolicy: OnRootMismatch
seccompProfile:
  type: RuntimeDefault
{{- end -}}

{{- define "ecrbot.containerSecurityContext" -}}
runAsNonRoot: true
runAsUser: 10001                  # the image's USER (numeric), so the kubelet can check it
runAsGroup: 10001
readOnlyRootFilesystem: true
allowPrivilegeEscalation: false
capabilities:
  drop: [ALL]
{{- end -}}

{{/* Probes on PORT, served in both Slack modes and by workers (bot/entrypoints/server.py). */}}
{{- define "ecrbot.probes" -}}
startupProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 2
  failureThreshold: 30
livenessProbe:
  httpGet: {path: /healthz, port: http}
  periodSeconds: 20
  timeoutSeconds: 3
  failureThreshold: 3
readinessProbe:
  # Ready when the database, the worker pool and (where there is one) the engine answer.
  httpGet: {path: /readyz, port: http}
  periodSeconds: 10
  timeoutSeconds: 5
  failureThreshold: 3
{{- end -}}

{{/* Variables every ecrbot container shares; secrets only by reference. */}}
{{- define "ecrbot.commonEnv" -}}
- name: SLACK_BOT_TOKEN
  valueFrom:
    secretKeyRef: {name: {{ include "ecrbot.secret" . }}, key: SLACK_BOT_TOKEN}
- name: ECRBOT_CONFIG
  value: /etc/ecrbot/ecrbot.yml
- name: ECRBOT_WORK_DIR
  value: /home/ecrbot/work
- name: PORT
  value: "3000"
- name: ECRBOT_LOG_FORMAT
  value: {{ .Values.logFormat | quote }}
- name: AWS_REGION
  value: {{ .Values.aws.region | quote }}
{{- if or (include "ecrbot.scaled" .) .Values.database.external }}
- name: ECRBOT_DATABASE_URL
  valueFrom:
    secretKeyRef: {name: {{ include "ecrbot.secret" . }}, key: ECRBOT_DATABASE_URL}
{{- end }}
{{- if include "ecrbot.scaled" . }}
- name: ECRBOT_WORKER_BACKEND
  value: celery
- name: ECRBOT_WORKERS            # builds at once across all workers
  value: {{ .Values.worker.fleetBuilds | quote }}
- name: ECRBOT_BROKER_URL
  valueFrom:
    secretKeyRef: {name: {{ include "ecrbot.secret" . }}, key: ECRBOT_BROKER_URL}
{{- end }}
{{- range $name, $value := .Values.extraEnv }}
- name: {{ $name }}
  value: {{ $value | quote }}
{{- end }}
{{- end -}}

{{/*
The Docker engine sidecar. Starting with `dockerd` skips the image's default listeners
(tcp://0.0.0.0:2375/2376): the API is only the unix socket, on an emptyDir that this pod's two
containers mount, owned by group 10001 so the non-root ecrbot user can use it.
DOCKER_TLS_CERTDIR="" stops the image generating TLS certificates for a listener it won't have.
*/}}
{{- define "ecrbot.engineContainer" -}}
- name: docker
  image: {{ .Values.engine.image }}
  imagePullPolicy: {{ .Values.engine.pullPolicy }}
  args:
    - dockerd
    - --host={{ include "ecrbot.dockerHost" . }}
    - --group=10001
  env:
    - name: DOCKER_TLS_CERTDIR
      value: ""
  securityContext:
    privileged: true
  readinessProbe:
    exec:
      command: [docker, --host={{ include "ecrbot.dockerHost" . }}, version]
    periodSeconds: 10
    timeoutSeconds: 5
  resources:
    {{- toYaml .Values.engine.resources | nindent 4 }}
  volumeMounts:
    - name: docker
      mountPath: /var/lib/docker
    - name: docker-socket
      mountPath: {{ include "ecrbot.dockerSocketDir" . }}
{{- end -}}

{{- define "ecrbot.engineVolumes" -}}
- name: docker                    # images and build cache; cold after each restart
  emptyDir:
    sizeLimit: {{ .Values.engine.storageSize }}
- name: docker-socket             # the engine's API: a unix socket, nothing else
  emptyDir:
    medium: Memory
    sizeLimit: 1Mi
{{- end -}}

{{/* Egress of the bot and workers: DNS, HTTPS and git to anywhere, and the listed peers. */}}
{{- define "ecrbot.egress" -}}
- ports:
    - {port: 53, protocol: UDP}
    - {port: 53, protocol: TCP}
- ports:
    {{- range .Values.networkPolicy.egressPorts }}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
{{- include "ecrbot.databaseEgress" . }}
{{- with .Values.networkPolicy.egressTo }}
{{ toYaml . }}
{{- end }}
{{- end -}}

{{/* The database's and broker's ports, where the pods use them. */}}
{{- define "ecrbot.databaseEgress" -}}
{{- if and (or (include "ecrbot.scaled" .) .Values.database.external) .Values.networkPolicy.databasePorts }}
- ports:
    {{- range .Values.networkPolicy.databasePorts }}
    - {port: {{ . }}, protocol: TCP}
    {{- end }}
{{- end }}
{{- end -}}
