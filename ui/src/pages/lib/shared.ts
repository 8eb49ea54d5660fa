// The UI core's shared pieces, in one place for the pages of this directory.
export { gql, rest, upload, url, ApiError } from '../../api';
export { Link, navigate, useSearch } from '../../router';
export { ErrorBox, JsonView, Loading } from '../../components';
