//! A loaded plugin: a pre-linked component plus its limits, grants and configuration, with one
//! method per export. Each call runs in a fresh instance (see `call.rs`).

use std::sync::Arc;

use wasmtime::component::Component;

use crate::bindings::{evaluator, provider, redactor, span_processor, types};
use crate::call;
use crate::error::{LoadError, PluginErrorKind, SandboxError};
use crate::inspect::{ComponentInfo, World};
use crate::limits::{Grants, Limits};
use crate::sandbox::Sandbox;
use crate::services::Services;
use crate::{state::HostState, SpanChange};
use crate::{ChatError, ChatRequest, ChatResponse, Descriptor, EvalInput, Field, Redaction, Report, Score, Span};

/// A component ready to be called. Cloning is cheap; the `with_*` methods derive a plugin that
/// shares the compiled code but runs with other limits, grants or configuration.
#[derive(Clone)]
pub struct Plugin {
    linked: Arc<Linked>,
    info: Arc<ComponentInfo>,
    pub(crate) limits: Arc<Limits>,
    pub(crate) grants: Arc<Grants>,
    pub(crate) config: Arc<str>,
    pub(crate) services: Services,
}

struct Linked {
    sandbox: Sandbox,
    pre: WorldPre,
}

enum WorldPre {
    Evaluator(evaluator::EvaluatorPre<HostState>),
    SpanProcessor(span_processor::SpanProcessorPre<HostState>),
    Redactor(redactor::RedactorPre<HostState>),
    Provider(provider::ProviderPre<HostState>),
}

impl std::fmt::Debug for Plugin {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Plugin").field("info", &self.info).field("limits", &self.limits).finish_non_exhaustive()
    }
}

fn link_error(err: wasmtime::Error) -> LoadError {
    LoadError::Link(format!("{err:#}"))
}

impl Plugin {
    pub(crate) fn link(
        sandbox: Sandbox,
        component: Component,
        mut info: ComponentInfo,
        limits: Limits,
    ) -> Result<Self, LoadError> {
        let instance_pre = sandbox.inner.linker.instantiate_pre(&component).map_err(link_error)?;
        let pre = match info.world {
            World::Evaluator => WorldPre::Evaluator(evaluator::EvaluatorPre::new(instance_pre).map_err(link_error)?),
            World::SpanProcessor => {
                WorldPre::SpanProcessor(span_processor::SpanProcessorPre::new(instance_pre).map_err(link_error)?)
            }
            World::Redactor => WorldPre::Redactor(redactor::RedactorPre::new(instance_pre).map_err(link_error)?),
            World::Provider => WorldPre::Provider(provider::ProviderPre::new(instance_pre).map_err(link_error)?),
        };
        let mut plugin = Plugin {
            linked: Arc::new(Linked { sandbox, pre }),
            info: Arc::new(info.clone()),
            limits: Arc::new(limits),
            grants: Arc::default(),
            config: Arc::from("{}"),
            services: Services::default(),
        };
        let descriptor = plugin.describe().into_result().map_err(|err| LoadError::Describe(Box::new(err)))?;
        info.descriptor = Some(descriptor.into());
        plugin.info = Arc::new(info);
        Ok(plugin)
    }

    /// The component's world, version, imports, exports, size, digest and descriptor.
    pub fn info(&self) -> &ComponentInfo {
        &self.info
    }

    /// The kind of plugin.
    pub fn world(&self) -> World {
        self.info.world
    }

    /// The limits every call runs under.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    /// The same plugin with other limits.
    pub fn with_limits(&self, limits: Limits) -> Self {
        Self { limits: Arc::new(limits), ..self.clone() }
    }

    /// The same plugin with other capability grants.
    pub fn with_grants(&self, grants: Grants) -> Self {
        Self { grants: Arc::new(grants), ..self.clone() }
    }

    /// The same plugin, answering `host.config` with `config` (a JSON object as text).
    pub fn with_config(&self, config: impl Into<Arc<str>>) -> Self {
        Self { config: config.into(), ..self.clone() }
    }

    /// The same plugin with an HTTP client for `outbound-http` and a broker for `llm`.
    pub fn with_services(&self, services: Services) -> Self {
        Self { services, ..self.clone() }
    }

    /// The grants this plugin runs with.
    pub fn grants(&self) -> &Grants {
        &self.grants
    }

    /// The configuration `host.config` answers with.
    pub fn config(&self) -> &str {
        &self.config
    }

    pub(crate) fn sandbox(&self) -> &Sandbox {
        &self.linked.sandbox
    }

    /// Calls `describe`.
    pub fn describe(&self) -> Report<Descriptor> {
        match &self.linked.pre {
            WorldPre::Evaluator(pre) => call::run(self, |store| pre.instantiate(store), |i, s| i.call_describe(s)),
            WorldPre::SpanProcessor(pre) => call::run(self, |store| pre.instantiate(store), |i, s| i.call_describe(s)),
            WorldPre::Redactor(pre) => call::run(self, |store| pre.instantiate(store), |i, s| i.call_describe(s)),
            WorldPre::Provider(pre) => call::run(self, |store| pre.instantiate(store), |i, s| i.call_describe(s)),
        }
    }

    /// Scores one example (evaluator plugins).
    pub fn evaluate(&self, input: &EvalInput) -> Report<Vec<Score>> {
        let WorldPre::Evaluator(pre) = &self.linked.pre else {
            return self.wrong_world(World::Evaluator);
        };
        flatten(call::run(self, |store| pre.instantiate(store), |i, s| i.call_evaluate(s, input)))
    }

    /// Returns changes for a batch of spans (span-processor plugins).
    pub fn process(&self, spans: &[Span]) -> Report<Vec<SpanChange>> {
        let WorldPre::SpanProcessor(pre) = &self.linked.pre else {
            return self.wrong_world(World::SpanProcessor);
        };
        flatten(call::run(self, |store| pre.instantiate(store), |i, s| i.call_process(s, spans)))
    }

    /// Returns replacements for text fields (redactor plugins).
    pub fn redact(&self, fields: &[Field]) -> Report<Vec<Redaction>> {
        let WorldPre::Redactor(pre) = &self.linked.pre else {
            return self.wrong_world(World::Redactor);
        };
        flatten(call::run(self, |store| pre.instantiate(store), |i, s| i.call_redact(s, fields)))
    }

    /// Lists the provider's models (provider plugins).
    pub fn models(&self) -> Report<Result<Vec<String>, ChatError>> {
        let WorldPre::Provider(pre) = &self.linked.pre else {
            return self.wrong_world(World::Provider);
        };
        call::run(self, |store| pre.instantiate(store), |i, s| i.call_models(s))
    }

    /// Runs one chat completion (provider plugins).
    pub fn chat(&self, request: &ChatRequest) -> Report<Result<ChatResponse, ChatError>> {
        let WorldPre::Provider(pre) = &self.linked.pre else {
            return self.wrong_world(World::Provider);
        };
        call::run(self, |store| pre.instantiate(store), |i, s| i.call_chat(s, request))
    }

    fn wrong_world<T>(&self, expected: World) -> Report<T> {
        call::failed(SandboxError::WrongWorld { expected: expected.as_str(), actual: self.world().as_str() })
    }
}

/// Turns the guest's own `plugin-error` into a [`SandboxError::Plugin`].
fn flatten<T>(report: Report<Result<T, types::PluginError>>) -> Report<T> {
    call::map_outcome(report, |outcome| match outcome {
        Ok(Ok(value)) => Ok(value),
        Ok(Err(err)) => Err(plugin_error(err)),
        Err(err) => Err(err),
    })
}

fn plugin_error(err: types::PluginError) -> SandboxError {
    let (kind, message) = match err {
        types::PluginError::InvalidConfig(message) => (PluginErrorKind::InvalidConfig, message),
        types::PluginError::InvalidInput(message) => (PluginErrorKind::InvalidInput, message),
        types::PluginError::Failed(message) => (PluginErrorKind::Failed, message),
    };
    SandboxError::Plugin { kind, message }
}
