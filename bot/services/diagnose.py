"""Diagnose: fetch one snapshot (concurrently, each AWS call once), then run the pure checks."""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from concurrent.futures import Executor, Future
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from bot.domain.access import Access, Action, ChannelRule, RateLimiter
from bot.domain.checks.common import repository_arn
from bot.domain.checks.model import (
    AppFacts,
    AssumedRole,
    CheckResult,
    Fact,
    KeyUser,
    PlatformFacts,
    Report,
    Status,
    TargetRepository,
    masked,
)
from bot.domain.checks.privilege import REPOSITORY_ACTIONS, account_of
from bot.domain.ecr_features import CreationTemplate
from bot.domain.environments import HOME, Environment, NamedRegistry
from bot.domain.errors import UnknownApp, UserError, new_error_id
from bot.domain.iam.permissions import evaluate_permissions
from bot.domain.models import AppSpec, RegistrySpec
from bot.domain.on_behalf import OnBehalf, acting_for, current_on_behalf
from bot.domain.ports import AccountFacts, Destination, Engine, SubjectTemplates, WorkflowSource
from bot.domain.text import code
from bot.domain.workflow.subjects import (
    SubjectTemplate,
    TemplateUnavailable,
    resolve_template,
    with_record,
)

if TYPE_CHECKING:
    from bot.domain.workflow.analysis import WorkflowReport

log = logging.getLogger(__name__)

TargetFacts = Callable[[NamedRegistry], AccountFacts]  # AWS reads in another registry


@dataclass(frozen=True)
class DiagnoseRequest:
    """`/ecr diagnose [app] [--branch B] [--env E] [--sha S]`."""

    app: str | None = None
    branch: str | None = None
    environment: str | None = None
    sha: str | None = None


class Diagnoser:
    """Builds the snapshot for one request and returns the checklist."""

    def __init__(
        self,
        registry: RegistrySpec,
        apps: Callable[[str], AppSpec | None],
        workflows: WorkflowSource,
        engine: Callable[[], Engine],
        facts: Callable[[], AccountFacts],
        pool: Executor,
        templates: SubjectTemplates | None = None,
        home_role: str | None = None,
        bot_principal: Callable[[], Fact[str]] | None = None,
        probe_role: Callable[[str], Fact[str] | None] | None = None,
        target_facts: TargetFacts | None = None,
    ) -> None:
        self._registry = registry
        self._home_role = home_role  # the catalog's `registry.role`
        # The bot's own principal, when the facts are read through a role (else their caller).
        self._bot_principal = bot_principal
        # Assumes a role for the person who asked: STS's answer where IAM can't be read.
        self._probe_role = probe_role
        # AWS reads in another registry (through its role, for the person who asked).
        self._target_facts = target_facts
        self._apps = apps
        self._workflows = workflows
        self._engine = engine  # built on first use: only the platform checks ping it
        self._facts = facts
        self._pool = pool  # the reads of one diagnose, concurrent
        self._templates = templates  # GitHub's API, when ecrbot has a token
        self.last_calls: dict[str, int] = {}

    @property
    def last_call_count(self) -> int:
        """AWS API calls the last diagnose made (the benchmark prints it)."""
        return sum(self.last_calls.values())

    def run(self, request: DiagnoseRequest, app: AppSpec | None = None) -> Report:
        if request.app is None:
            return self.platform()
        spec = app or self._apps(request.app)
        if spec is None:
            raise UserError(
                f"There is no app called {code(request.app)} in the catalog.",
                "`/ecr diagnose` with no app checks the platform itself.",
            )
        return self.app(spec, request)

    def app(self, app: AppSpec, request: DiagnoseRequest) -> Report:
        branch = request.branch or app.branch
        spec = self._registry
        repo_arn = repository_arn(spec.region, spec.account_id, app.repository)
        role_account = account_of(app.role) if app.role else spec.account_id
        # Start every independent lookup at once, the longest first: git and GitHub need no
        # AWS client (they run while the AWS adapter is made), and a role's reads are three
        # round trips one after another. The checks then read finished futures.
        workflows = self._pool.submit(self._read_workflows, app, branch)
        # GitHub's two reads run beside the AWS ones, each endpoint once per diagnose.
        template = self._pool.submit(self._subject_template, app)
        record = self._pool.submit(self._repository_record, app)
        aws = self._facts()
        role = aws.role(app.role) if app.role else None
        users, provider = aws.key_users(), aws.provider()
        caller, repository = aws.caller(), aws.repository(app.repository)
        repository_policy, organization = aws.repository_policy(app.repository), aws.organization()
        scps = aws.scps(role_account) if app.role else None
        # The simulator reads the caller's own account only.
        simulation = (
            aws.simulate(app.role, REPOSITORY_ACTIONS, repo_arn)
            if app.role and role_account == spec.account_id
            else None
        )
        image = aws.image(app.repository, request.sha) if request.sha else None
        signing = aws.signing_rules()  # ECR signs as the pusher: its permission matters
        targets = self._start_targets(aws, app)
        # The checklist's modules load while the reads are in flight (0.03 s of CPU that an
        # `ecrbot diagnose` process would otherwise spend before its first request).
        from bot.domain.checks.checklist import check_app

        repo_fact = repository.result()
        workflow_fact = workflows.result()
        elsewhere: Fact[tuple[str, ...]] = Fact(())
        creation: Fact[tuple[CreationTemplate, ...] | None] = Fact(None)
        if repo_fact.ok and repo_fact.value is None:
            # A missing repository may be one that a CREATE_ON_PUSH template creates.
            templates = aws.creation_templates()
            regions = _workflow_regions(workflow_fact.value or ())
            elsewhere = aws.elsewhere(app.repository, regions).result()
            creation = templates.result()
        facts = AppFacts(
            app=app.name,
            github=app.github,
            branch=branch,
            environment=request.environment,
            region=spec.region,
            account_id=spec.account_id,
            role_arn=app.role,
            repository_name=app.repository,
            caller=caller.result(),
            repository=repo_fact,
            elsewhere=elsewhere,
            workflows=workflow_fact,
            provider=provider.result(),
            role=role.result() if role else Fact(None),
            key_users=self._with_boundaries(aws, users.result(), repo_arn),
            sha=request.sha,
            image=image.result() if image else Fact(None),
            repository_policy=repository_policy.result(),
            organization=organization.result(),
            scps=scps.result() if scps else Fact(None),
            simulation=simulation.result() if simulation else Fact(None),
            subject_template=with_record(template.result(), *record.result()),
            creation_templates=creation,
            signing_rules=signing.result(),
            assumed_roles=self._assumed_roles(aws, app),
            targets=tuple(target.result() for target in targets),
            bot_principal=self._bot_principal() if self._bot_principal else caller.result(),
        )
        self.last_calls = dict(aws.calls)
        return check_app(facts)

    def _start_targets(self, aws: AccountFacts, app: AppSpec) -> list[Future[TargetRepository]]:
        """Each environment's repository and policy, read in its registry, started now."""
        who = current_on_behalf.get()  # the pool's threads don't carry it

        def read(env: Environment, facts: TargetFacts) -> TargetRepository:
            home = env.registry.name == HOME
            pusher = self._home_role if home else env.registry.role
            where = (env.name, env.registry.name, env.registry.account_id, env.registry.region)
            try:
                there = aws if home else acting_for(who, facts, env.registry)
            except Exception as error:  # the role refused (STS): a fact, as AwsFacts makes them
                unread: Fact[Any] = Fact(error=f"{type(error).__name__}: {error}"[:300])
                return TargetRepository(*where, env.repository, pusher, unread, unread)
            found = there.repository(env.repository)
            policy = there.repository_policy(env.repository)
            return TargetRepository(*where, env.repository, pusher, found.result(), policy.result())

        if self._target_facts is None:
            return []  # no way to read another registry here (a test's Diagnoser)
        return [self._pool.submit(read, env, self._target_facts) for env in app.environments]

    def _assumed_roles(self, aws: AccountFacts, app: AppSpec) -> tuple[AssumedRole, ...]:
        """The roles the bot assumes for a person at the app's registries, read from IAM where
        ecrbot's credentials can read them (their own account)."""
        uses: dict[str, list[str]] = {}
        if self._home_role:
            uses.setdefault(self._home_role, []).append(HOME)
        for env in app.environments:
            if env.registry.role:
                uses.setdefault(env.registry.role, []).append(env.registry.name)
        here = self._registry.account_id
        reads = {arn: aws.role(arn) if account_of(arn) == here else None for arn in sorted(uses)}
        unread = f"it is in account {{}}; ecrbot reads IAM in {here}"
        return tuple(
            AssumedRole(
                arn,
                tuple(dict.fromkeys(uses[arn])),
                read.result() if read is not None else Fact(error=unread.format(account_of(arn))),
                None if read is not None or not self._probe_role else self._probe_role(arn),
            )
            for arn, read in reads.items()
        )

    def _with_boundaries(
        self, aws: AccountFacts, users: Fact[tuple[KeyUser, ...]], repo_arn: str
    ) -> Fact[tuple[KeyUser, ...]]:
        """Key users with their permissions boundaries, read only for those whose policies
        allow a push: a boundary only ever takes permissions away (and a grant in the
        repository policy to a user is not capped by it), so for the others it can't matter.
        This keeps GetUser off every healthy diagnose."""
        if not users.ok:
            return users
        could_push = [
            user
            for user in users.value or ()
            if any(d.allowed for d in evaluate_permissions(
                user.policies, REPOSITORY_ACTIONS, repo_arn).values())
        ]  # fmt: skip
        boundaries = {user.name: aws.user_boundary(user.name) for user in could_push}
        updated = []
        for user in users.value or ():
            if user.name in boundaries:
                found = boundaries[user.name].result()
                if not found.ok:
                    return Fact(error=f"the permissions boundary of {user.name}: {found.error}")
                user = replace(user, boundary=found.value)
            updated.append(user)
        return Fact(tuple(updated))

    def _subject_template(self, app: AppSpec) -> SubjectTemplate:
        """GitHub's API when ecrbot has a token, else the catalog's keys, else the default."""
        templates, repo = self._templates, app.github
        read = (lambda: templates.subject_template(repo)) if templates and repo else None
        return resolve_template(app.oidc_subject_keys, read)

    def _repository_record(self, app: AppSpec) -> tuple[Mapping[str, str] | None, str | None]:
        """The repository's ids (the `repository_id` claim STS passes), or why not."""
        if self._templates is None or not app.github:
            return None, None
        try:
            return self._templates.repository_record(app.github), None
        except TemplateUnavailable as error:
            return None, str(error)[:300]

    def platform(self) -> Report:
        aws = self._facts()
        caller, token, login = aws.caller(), aws.token(), aws.login()
        docker: Future[Fact[str]] = self._pool.submit(self._docker)
        from bot.domain.checks.checklist import check_platform  # while the reads run

        facts = PlatformFacts(
            region=self._registry.region,
            account_id=self._registry.account_id,
            caller=caller.result(),
            docker=docker.result(),
            token=token.result(),
            login=login.result(),
        )
        self.last_calls = dict(aws.calls)
        return check_platform(facts)

    def _read_workflows(self, app: AppSpec, branch: str) -> Fact[tuple[WorkflowReport, ...]]:
        from bot.domain.workflow.analysis import analyse_workflows  # on the pool, beside the reads

        try:
            return Fact(analyse_workflows(self._workflows.workflow_files(app, branch)))
        except UserError as error:
            return Fact(error=str(error))
        except Exception as error:  # git unreachable etc.: this check says so, others go on
            log.warning("reading %s's workflows failed: %s", app.name, error)
            return Fact(error=f"could not read the workflows: {type(error).__name__}")

    def _docker(self) -> Fact[str]:
        try:
            self._engine().ping()
            return Fact("the configured engine")
        except Exception as error:
            return Fact(error=f"{type(error).__name__}: {str(error)[:200]}")


def _workflow_regions(reports: tuple[WorkflowReport, ...]) -> list[str]:
    regions = {
        step.aws_region
        for report in reports
        for job in report.jobs
        for step in job.aws_steps
        if step.aws_region and "${{" not in step.aws_region
    }
    # Where teams most often create repositories by mistake when the region does not match.
    return sorted(regions | {"us-east-1", "eu-west-1", "eu-west-2", "us-west-2"})


# (report, requested by, where it goes)
Post = Callable[[Report, str, Destination], None]


class DiagnoseService:
    """Runs diagnoses off Bolt's listener threads and posts each checklist where it may go.

    The destination policy is here, for every entry point (the command, the triage button, the
    message shortcut, the modal): a checklist names IAM users, key ids, role ARNs and trust
    conditions, so it goes into a channel only if /ecr's channel rule allows that channel;
    otherwise to the asker's DM, with a one-line verdict where it was asked. Outside the DM,
    access-key ids are masked.
    """

    def __init__(
        self,
        diagnoser: Diagnoser,
        apps: Callable[[str], AppSpec | None],
        all_apps: Callable[[], list[AppSpec]],
        post: Post,
        access: Access,
        limiter: RateLimiter,
        pool: Executor,
        channels: ChannelRule,
    ) -> None:
        self._channels = channels
        self._diagnoser = diagnoser
        self._apps = apps
        self._all_apps = all_apps
        self._post = post
        self._access = access
        self._limiter = limiter
        self._pool = pool  # diagnose runs: as many at once as the concurrency policy says

    def authorize(self, request: DiagnoseRequest, user: str) -> AppSpec | None:
        """Who may diagnose what (and how often); an unknown app is the caller's error."""
        if request.app is None:
            self._access.require(user, Action.DIAGNOSE_PLATFORM)
            self._limiter.take(user, Action.DIAGNOSE_PLATFORM)
            return None
        app = self._apps(request.app)
        if app is None:
            raise UnknownApp(request.app, self._access.visible_apps(user, self._all_apps()))
        self._access.require(user, Action.DIAGNOSE, app)
        self._limiter.take(user, Action.DIAGNOSE)
        return app

    def submit(self, request: DiagnoseRequest, user: str, where: Destination) -> None:
        """Authorize now, then run in the background and post the checklist."""
        self.authorize(request, user)
        # Its AWS reads are made for the person who asked (SourceIdentity, tags).
        who = OnBehalf(user, request.app or "platform", "diagnose")
        self._pool.submit(acting_for, who, self._run, request, user, self.destinations(user, where))

    def destinations(self, user: str, asked: Destination) -> list[Destination]:
        """Where the checklist of a diagnose `user` asked for at `asked` may go."""
        if asked.private:
            return [replace(asked, to_user=user)]  # a DM is only ever the asker's own
        if asked.channel is None or self._channels.allows(asked.channel):
            return [asked]
        return [
            Destination(None, reply_url=asked.reply_url, to_user=user),
            replace(asked, verdict_only=True),
        ]

    def _run(self, request: DiagnoseRequest, user: str, where: list[Destination]) -> None:
        try:
            report = self._diagnoser.run(request)
        except Exception:
            error_id = new_error_id()
            log.exception("diagnose failed (error id %s)", error_id)
            failed = CheckResult(
                "diagnose.run",
                Status.ERROR,
                f"ecrbot could not run the checklist (error id `{error_id}`).",
                "Tell #platform-team the error id.",
            )
            report = Report(request.app or "ecrbot platform", "Diagnose did not run.", (failed,))
        for destination in where:
            self._post(report if destination.private else masked(report), user, destination)
