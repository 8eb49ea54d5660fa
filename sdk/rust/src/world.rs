//! Helpers stamped into every world module: each world's bindings have their own copies of the
//! shared WIT records, so the conveniences are written once here and expanded per world.

/// Constructors for the world's `Descriptor`.
macro_rules! descriptor_helpers {
    () => {
        impl Descriptor {
            /// A descriptor without a configuration schema. Pass `env!("CARGO_PKG_VERSION")` as
            /// the version to keep it in step with the crate.
            pub fn new(name: impl Into<String>, version: impl Into<String>, description: impl Into<String>) -> Self {
                Self {
                    name: name.into(),
                    version: version.into(),
                    description: description.into(),
                    config_schema: None,
                }
            }

            /// Sets the JSON Schema of the configuration the plugin accepts.
            pub fn config_schema(mut self, schema: serde_json::Value) -> Self {
                self.config_schema = Some(schema.to_string());
                self
            }
        }
    };
}

/// Constructors and conversions for the world's `PluginError` (wit-bindgen provides `Display`
/// and `Error`).
macro_rules! plugin_error_helpers {
    () => {
        impl PluginError {
            /// `invalid-config`: the configuration from the host is unusable.
            pub fn invalid_config(message: impl Into<String>) -> Self {
                Self::InvalidConfig(message.into())
            }

            /// `invalid-input`: this input cannot be processed.
            pub fn invalid_input(message: impl Into<String>) -> Self {
                Self::InvalidInput(message.into())
            }

            /// `failed`: anything else.
            pub fn failed(message: impl Into<String>) -> Self {
                Self::Failed(message.into())
            }

            /// The message, whatever the case.
            pub fn message(&self) -> &str {
                match self {
                    Self::InvalidConfig(m) | Self::InvalidInput(m) | Self::Failed(m) => m,
                }
            }
        }

        impl From<$crate::ConfigError> for PluginError {
            fn from(error: $crate::ConfigError) -> Self {
                Self::InvalidConfig(error.message().to_owned())
            }
        }
    };
}

/// Constructors for chat records, in the modules that see them (evaluator's `llm`, provider).
macro_rules! chat_helpers {
    () => {
        impl Message {
            /// A message with this role and text and no tool calls.
            pub fn new(role: Role, content: impl Into<String>) -> Self {
                Self { role, content: content.into(), tool_calls: Vec::new(), tool_call_id: None }
            }

            /// A `system` message.
            pub fn system(content: impl Into<String>) -> Self {
                Self::new(Role::System, content)
            }

            /// A `user` message.
            pub fn user(content: impl Into<String>) -> Self {
                Self::new(Role::User, content)
            }

            /// An `assistant` message.
            pub fn assistant(content: impl Into<String>) -> Self {
                Self::new(Role::Assistant, content)
            }
        }

        impl ChatRequest {
            /// A request for `model` with these messages and every option unset.
            pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
                Self {
                    model: model.into(),
                    messages,
                    tools: Vec::new(),
                    tool_choice: None,
                    response_format: None,
                    temperature: None,
                    max_tokens: None,
                    top_p: None,
                    stop: Vec::new(),
                    extra: None,
                }
            }
        }
    };
}

pub(crate) use {chat_helpers, descriptor_helpers, plugin_error_helpers};
