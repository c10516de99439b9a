import { afterEach, describe, expect, it, vi } from 'vitest';
import { fireEvent, render, screen, waitFor } from '@testing-library/react';
import { MemoryRouter, Route, Routes } from 'react-router-dom';
import { AuthProvider } from '../hooks/useAuth.jsx';
import Login from './Login.jsx';
import Register, { validateRegistration } from './Register.jsx';
import { jsonResponse, mockFetch } from '../test/fetchMock.js';

afterEach(() => vi.unstubAllGlobals());

function renderAt(path) {
  return render(
    <MemoryRouter initialEntries={[path]}>
      <AuthProvider>
        <Routes>
          <Route path="/login" element={<Login />} />
          <Route path="/register" element={<Register />} />
          <Route path="/" element={<p>home page</p>} />
        </Routes>
      </AuthProvider>
    </MemoryRouter>,
  );
}

describe('Login', () => {
  it('shows the server field error next to the field', async () => {
    mockFetch({ 'POST /api/auth/login': () => jsonResponse(400, { error: { code: 'invalid_field', message: 'Passwords are at most 72 bytes.', field: 'password' } }) });
    renderAt('/login');
    fireEvent.change(screen.getByLabelText('E-mail or username'), { target: { value: 'alice' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'x'.repeat(80) } });
    fireEvent.click(screen.getByRole('button', { name: 'Log in' }));
    const err = await screen.findByTestId('error-password');
    expect(err).toHaveTextContent('Passwords are at most 72 bytes.');
    expect(screen.getByLabelText('Password')).toHaveAttribute('aria-invalid', 'true');
    expect(screen.getByLabelText('Password').getAttribute('aria-describedby')).toContain(err.id);
  });

  it('wrong credentials: one message above the form', async () => {
    mockFetch({ 'POST /api/auth/login': () => jsonResponse(401, { error: { code: 'invalid_credentials', message: 'Wrong.' } }) });
    renderAt('/login');
    fireEvent.change(screen.getByLabelText('E-mail or username'), { target: { value: 'alice@example.com' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'nope nope' } });
    fireEvent.click(screen.getByRole('button', { name: 'Log in' }));
    expect(await screen.findByTestId('form-error')).toHaveTextContent('do not match');
  });

  it('signs in and goes home', async () => {
    mockFetch({ 'POST /api/auth/login': () => jsonResponse(200, { token: 't', user: { id: 1, username: 'alice' } }) });
    renderAt('/login');
    fireEvent.change(screen.getByLabelText('E-mail or username'), { target: { value: 'alice' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'correct horse' } });
    fireEvent.click(screen.getByRole('button', { name: 'Log in' }));
    expect(await screen.findByText('home page')).toBeInTheDocument();
  });
});

describe('Register', () => {
  it('checks fields in the browser first', () => {
    expect(validateRegistration({ username: 'a', email: 'x', password: 'short', displayName: '' })).toEqual({
      username: expect.any(String),
      email: expect.any(String),
      password: expect.any(String),
    });
    expect(validateRegistration({ username: 'alice_1', email: 'a@b.co', password: 'long enough', displayName: 'A' })).toEqual({});
    expect(validateRegistration({ username: 'alice', email: 'a@b.co', password: 'é'.repeat(40), displayName: '' }).password).toMatch(/72 bytes/);
  });

  it('shows a taken username next to the username field', async () => {
    mockFetch({ 'POST /api/auth/register': () => jsonResponse(409, { error: { code: 'username_taken', message: 'That username is taken.', field: 'username' } }) });
    renderAt('/register');
    fireEvent.change(screen.getByLabelText('Username'), { target: { value: 'alice' } });
    fireEvent.change(screen.getByLabelText('E-mail'), { target: { value: 'alice@example.com' } });
    fireEvent.change(screen.getByLabelText('Password'), { target: { value: 'correct horse' } });
    fireEvent.click(screen.getByRole('button', { name: 'Sign up' }));
    await waitFor(() => expect(screen.getByTestId('error-username')).toHaveTextContent('That username is taken.'));
    expect(screen.getByLabelText('Username')).toHaveAttribute('aria-invalid', 'true');
  });
});
